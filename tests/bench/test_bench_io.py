"""The parts of bench/throughput.py and bench/dispatch.py whose mistakes would make
their figures wrong, checked without timing anything (these run in `make test`)."""

import smtplib

import pytest

from bench import views
from bench.dispatch import Sink, count_delivery, link_digests


@pytest.mark.urls("bench.urls")
def test_minimal_view_inserts_exactly_one_row_per_post(client, db):
    views.ensure_table()
    before = views.row_count()
    for n in range(1, 4):
        response = client.post("/bench/minimal/", {"trust": "9", "value": f"row{n}"})
        assert response.status_code == 204
        assert views.row_count() == before + n


@pytest.mark.urls("bench.urls")
def test_minimal_view_get_reads_and_writes_nothing(client, db):
    views.ensure_table()
    client.post("/bench/minimal/", {"value": "latest"})
    before = views.row_count()
    response = client.get("/bench/minimal/")
    assert (response.status_code, response.content) == (200, b"latest")
    assert views.row_count() == before


@pytest.mark.urls("bench.urls")
def test_minimal_view_refuses_what_it_does_not_count(client, db):
    views.ensure_table()
    before = views.row_count()
    assert client.put("/bench/minimal/").status_code == 405
    assert client.post("/bench/minimal/", {"trust": "9"}).status_code == 400
    assert views.row_count() == before


@pytest.mark.urls("bench.urls")
def test_bench_urls_keep_the_survey_routes(client, db):
    # The throughput benchmark posts to the real check-in view through these URLs.
    assert client.get("/s/not-a-real-token/").status_code == 410


def test_delivery_count_finds_lost_duplicated_and_unexpected_emails():
    expected = ["a@x", "b@x", "c@x", "d@x"]
    received = ["a@x", "b@x", "b@x", "b@x", "d@x", "d@x", "z@x"]
    assert count_delivery(expected, received) == {"lost": 1, "duplicates": 3, "unexpected": 1}


def test_delivery_count_of_a_clean_run_is_zero():
    addresses = [f"client{i}@x" for i in range(100)]
    assert count_delivery(addresses, reversed(addresses)) == {"lost": 0, "duplicates": 0, "unexpected": 0}


def test_delivery_count_needs_one_address_per_invitation():
    with pytest.raises(ValueError):
        count_delivery(["a@x", "a@x"], ["a@x"])


def test_sink_keeps_every_message_it_accepts_and_resets():
    sink = Sink()
    try:
        data = (
            b"Subject: hello\r\nContent-Type: text/plain\r\n\r\n"
            b"Your check-in: http://127.0.0.1:8000/s/AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcd/\r\n"
        )
        for rcpt in ("a@x.invalid", "b@x.invalid"):
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as smtp:
                smtp.sendmail("from@x.invalid", [rcpt], data)
        assert sink.wait_for(2, timeout=10) == 2
        messages = sink.dump()
        assert [rcpts for _, rcpts, _ in messages] == [["a@x.invalid"], ["b@x.invalid"]]
        digests = link_digests(messages)
        from alliance.checkins.invitations import token_digest

        assert digests["a@x.invalid"] == token_digest("AbCdEfGhIjKlMnOpQrStUvWxYz_0123456789-abcd")
        sink.reset()
        assert sink.count.value == 0 and sink.dump() == []
    finally:
        sink.close()
