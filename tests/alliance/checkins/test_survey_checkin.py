"""The client's check-in page: GET shows it and changes nothing, POST stores it once,
and every link that cannot be used looks the same."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.test import override_settings
from django.utils import timezone

from alliance.flags import refresh
from alliance.models import CheckIn, Flag, SurveyInvitation
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

ANSWERS = {"trust": "9", "empathy": "8", "boundaries": "10", "collaboration": "7", "comment": "Helpful today."}


def _url(token):
    return f"/s/{token}/"


def _snapshot(invitation):
    invitation.refresh_from_db()
    return {f.name: getattr(invitation, f.name) for f in SurveyInvitation._meta.fields}


def test_it_shows_the_four_questions_in_our_wording(client, sent_invitation):
    _, token = sent_invitation
    response = client.get(_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    for question in [
        "I could trust my therapist in this session.",
        "I felt heard and understood.",
        "The session felt safe and respectful of limits.",
        "We worked on what I wanted, in a way that suits me.",
    ]:
        assert question in html
    assert html.count('type="radio"') == 44
    assert html.count("<fieldset") == 4 and html.count("<legend") == 4
    assert "Harbour Clinic" in html


def test_it_shows_the_form_in_spanish_to_a_spanish_speaking_client(client, sent_invitation):
    invitation, token = sent_invitation
    type(invitation.client).objects.filter(pk=invitation.client_id).update(language="es")
    html = client.get(_url(token)).content.decode()
    assert "Pude confiar en mi terapeuta en esta sesión." in html
    assert "Enviar mis respuestas" in html
    assert '<html lang="es" dir="ltr">' in html


def test_it_changes_nothing_on_get(client, sent_invitation):
    """Mail scanners and link previews fetch every link; that must not use it up."""
    invitation, token = sent_invitation
    before = _snapshot(invitation)
    audit_before = AuditEvent.objects.count()
    for _ in range(3):
        assert client.get(_url(token)).status_code == 200
    assert _snapshot(invitation) == before
    assert AuditEvent.objects.count() == audit_before
    assert not CheckIn.objects.exists()
    # And the link still works for the client.
    assert client.post(_url(token), ANSWERS).status_code == 302


def test_it_shows_the_form_with_one_query(client, sent_invitation, django_assert_num_queries):
    _, token = sent_invitation
    with django_assert_num_queries(1):
        assert client.get(_url(token)).status_code == 200


def test_it_keeps_tokens_out_of_the_request_log(client, sent_invitation):
    import logging

    _, token = sent_invitation
    lines = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())
    loggers = [logging.getLogger(name) for name in ("django.request", "alliance.checkins.views")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        client.post(_url(token), {"trust": "11"})
        client.get(_url("x" * 43))
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    text = "\n".join(lines)
    assert token not in text and "x" * 43 not in text


def test_it_sends_privacy_headers_and_loads_nothing_from_elsewhere(client, sent_invitation):
    _, token = sent_invitation
    response = client.get(_url(token))
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "<script" not in html and "style=" not in html
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/") or src == "data:,", src
    assert "navbar" not in html  # no staff navigation on a client's page


def test_it_stores_the_answers_once_and_thanks_the_client(client, sent_invitation):
    invitation, token = sent_invitation
    response = client.post(_url(token), ANSWERS, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    thanks = client.get(response["Location"])
    assert "Thank you" in thanks.content.decode()
    checkin = CheckIn.objects.get()
    assert (checkin.source, checkin.session_id, checkin.client_id) == ("client", invitation.session_id, invitation.client_id)
    assert (checkin.trust, checkin.empathy, checkin.boundaries, checkin.collaboration) == (9, 8, 10, 7)
    assert checkin.comment == "Helpful today."
    invitation.refresh_from_db()
    assert invitation.status == "answered" and invitation.answered_at is not None
    # The audit row comes with the after-answer sweep, dated when the answer was given.
    from alliance.flags.refresh import flags_refresh_pending

    assert not AuditEvent.objects.filter(action="checkin.submitted").exists()
    flags_refresh_pending()
    event = AuditEvent.objects.get(action="checkin.submitted")
    assert event.at == checkin.submitted_at
    assert event.actor is None and "Helpful" not in str(event.detail)
    # A client has no account; the trail keeps no address of theirs for admins to read.
    assert event.ip is None
    # The same link is refused afterwards.
    assert client.get(_url(token)).status_code == 410
    assert client.post(_url(token), ANSWERS).status_code == 410
    assert CheckIn.objects.count() == 1


def test_the_answer_is_one_statement_and_its_flags_follow_after_commit(
    client, sent_invitation, django_capture_on_commit_callbacks
):
    invitation, token = sent_invitation
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks() as after_commit:
        assert client.post(_url(token), {**ANSWERS, "trust": "3"}).status_code == 302
    # On PostgreSQL one statement, atomic on its own: the conditional UPDATE, the
    # check-in and its audit row as data-modifying CTEs, with no lookup before it. On
    # SQLite (no UPDATE inside WITH): the token's lookup, then the transaction of the
    # three. The flag recompute is not in the client's request. (The savepoint is the
    # test's own transaction around the view's atomic block.)
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    statements = [s for s in statements if s not in ("SAVEPOINT", "RELEASE")]
    if connection.vendor == "postgresql":
        # Prepared once per connection (config/prepared.py), in the round trip of its
        # first run; executed after that.
        assert len(statements) == 1 and statements[0] in ("PREPARE", "EXECUTE"), statements
        assert "rapport_checkin_answer" in queries.captured_queries[-1]["sql"]
    else:
        assert statements == ["SELECT", "UPDATE", "INSERT", "INSERT"], statements
    checkin = CheckIn.objects.get()
    assert checkin.flags_pending
    assert not Flag.objects.filter(client=invitation.client).exists()
    # Nothing is queued by the answer: its mark is the hand-off. Beat's sweep (run here
    # in-process, as a worker would) raises the flag and clears the mark.
    assert after_commit == []
    assert refresh.flags_refresh_pending() == [invitation.client_id]
    assert Flag.objects.filter(client=invitation.client, kind="low_alliance", resolved_at__isnull=True).exists()
    checkin.refresh_from_db()
    assert not checkin.flags_pending
    # The next sweep finds nothing to do, in one statement besides its lock.
    with CaptureQueriesContext(connection) as again:
        assert refresh.flags_refresh_pending() == []
    selects = [q["sql"] for q in again.captured_queries if "advisory" not in q["sql"] and "SAVEPOINT" not in q["sql"]]
    assert len(selects) == 1 and selects[0].startswith("SELECT"), selects


def test_a_sweep_takes_each_client_once_however_many_answers(client, sent_invitation):
    """Two answers of one client: one sweep recomputes their flags once and clears
    both marks."""
    from django.core import mail

    from tests.alliance.conftest import log_session, send_inline, token_of

    invitation, token = sent_invitation
    client.post(_url(token), {**ANSWERS, "trust": "2"})
    _, second = log_session(client=invitation.client)
    assert send_inline(second).result == "sent"
    client.post(_url(token_of(mail.outbox[-1])), {**ANSWERS, "trust": "1"})
    assert CheckIn.objects.filter(flags_pending=True).count() == 2
    assert refresh.flags_refresh_pending() == [invitation.client_id]
    assert not CheckIn.objects.filter(flags_pending=True).exists()
    assert Flag.objects.filter(client=invitation.client, kind="low_alliance", resolved_at__isnull=True).count() == 1


def test_a_sweep_that_dies_midway_leaves_the_mark_for_the_next(client, sent_invitation, monkeypatch):
    """The recompute and the clearing of the mark are one transaction: a sweep that
    fails halfway (the worker dies, the database goes away) clears nothing, and the next
    sweep does the work."""
    invitation, token = sent_invitation
    client.post(_url(token), {**ANSWERS, "trust": "2"})

    def dies(**kwargs):
        raise RuntimeError("the worker died")

    monkeypatch.setattr(refresh, "flags_recompute_for_client", dies)
    with pytest.raises(RuntimeError):
        refresh.flags_refresh_pending()
    assert CheckIn.objects.get().flags_pending
    monkeypatch.undo()
    assert refresh.flags_refresh_pending() == [invitation.client_id]
    assert Flag.objects.filter(client=invitation.client, kind="low_alliance", resolved_at__isnull=True).exists()
    assert not CheckIn.objects.get().flags_pending


@pytest.mark.parametrize(
    "bad",
    [
        {"trust": "11"},
        {"empathy": "-1"},
        {"boundaries": "seven"},
        {"collaboration": ""},
        {"comment": "x" * 2001},
    ],
)
def test_it_refuses_out_of_range_or_missing_answers_and_keeps_the_form_filled(client, sent_invitation, bad):
    invitation, token = sent_invitation
    data = {**ANSWERS, **bad}
    response = client.post(_url(token), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Please" in html  # a clear message, in the client's language
    # What was valid comes back as it was chosen.
    for field in ["trust", "empathy", "boundaries", "collaboration"]:
        if field not in bad:
            assert re.search(rf'id="{field}-{ANSWERS[field]}" value="{ANSWERS[field]}" checked', html), field
    if "comment" not in bad:
        assert "Helpful today." in html
    assert not CheckIn.objects.exists()
    invitation.refresh_from_db()
    assert invitation.status == "sent" and invitation.answered_at is None


def _without_per_request_values(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_it_treats_tampered_used_and_expired_links_alike(client, alice_client):
    from tests.alliance.conftest import log_session, send_inline, token_of
    from django.core import mail

    tokens = []
    for _ in range(2):
        _, invitation = log_session(client=alice_client, scheduled_start=timezone.now() - timedelta(days=1))
        send_inline(invitation)
        tokens.append(token_of(mail.outbox[-1]))
    used, expired = tokens
    assert client.post(_url(used), ANSWERS).status_code == 302
    SurveyInvitation.objects.filter(status="sent").update(expires_at=timezone.now() - timedelta(seconds=1))
    tampered = used[:-2] + ("AA" if not used.endswith("AA") else "BB")

    responses = {name: client.get(_url(t)) for name, t in [("used", used), ("expired", expired), ("tampered", tampered), ("junk", "x" * 500)]}
    statuses = {name: r.status_code for name, r in responses.items()}
    assert set(statuses.values()) == {410}, statuses
    bodies = {_without_per_request_values(r.content.decode()) for r in responses.values()}
    assert len(bodies) == 1
    assert "This link can no longer be used" in bodies.pop()
    # POSTs too.
    posts = {client.post(_url(t), ANSWERS).content.decode() for t in [used, expired, tampered]}
    assert len({_without_per_request_values(p) for p in posts}) == 1
    assert CheckIn.objects.count() == 1


def test_it_rate_limits_per_ip_with_a_friendly_page(client, sent_invitation):
    _, token = sent_invitation
    cache.clear()
    with override_settings(SURVEY_RATE_LIMIT="3/m"):
        codes = [client.get(_url(token)).status_code for _ in range(5)]
        limited = client.get(_url(token))
    assert codes[:3] == [200, 200, 200]
    assert limited.status_code == 429
    assert "Please wait a moment" in limited.content.decode()
    assert limited["Cache-Control"] == "no-store"
    cache.clear()
