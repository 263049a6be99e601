"""A send task's batch: one SMTP connection, a fixed number of statements plus one per
message, and emails identical to those rendered one by one. In this process, against a
real aiosmtpd server; the multi-process guarantees are in test_outbox_worker.py."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliance.checkins import outbox
from alliance.checkins.emails import EmailBatch, email_message, email_render
from alliance.checkins.invitations import token_digest
from alliance.models import SurveyInvitation
from tests.alliance.conftest import log_session
from tests.factories import ClientFactory
from tests.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(smtp_server, settings):
    server = smtp_server()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return server


def _claimed(therapist, n, **client_fields):
    invitations = [log_session(client=ClientFactory(therapist=therapist, **client_fields))[1] for _ in range(n)]
    claimed = outbox.invitations_dispatch_due()
    assert sorted(claimed) == sorted(i.id for i in invitations)
    return list(SurveyInvitation.objects.filter(id__in=claimed).order_by("id").values_list("id", "claim_id"))


def _statements(claims):
    with CaptureQueriesContext(connection) as queries:
        outcomes = outbox.invitations_send(claims)
    assert {o.result for o in outcomes.values()} == {"sent"}
    return len(queries)


def test_a_batch_shares_one_connection_and_costs_one_statement_a_message_beyond_a_fixed_few(smtp, alice):
    small = _statements(_claimed(alice, 2))
    large = _statements(_claimed(alice, 12))
    # Reading the rows, starting the attempts, storing the links, the audit rows and the
    # final "sent" are the same few statements for 2 emails as for 12; what grows is the
    # one UPDATE per email that records it accepted before the next one goes.
    assert large - small == 12 - 2
    assert large <= 12 + 6

    received = smtp.received()
    assert len(received) == 14
    assert len(smtp.handler.sessions) == 2  # one SMTP connection per batch
    # Every email's link opens its own invitation, and each was recorded as sent.
    rows = {r.client.email: r for r in SurveyInvitation.objects.select_related("client")}
    for message in received:
        token = re.search(r"/s/([A-Za-z0-9_-]{20,})/", message.get_body(("plain",)).get_content()).group(1)
        row = rows[message["To"]]
        assert row.token_hash == token_digest(token)
        assert row.status == "sent" and row.email_sent_at is not None
    assert SurveyInvitation.objects.filter(status="sent").count() == 14


@pytest.mark.parametrize("language", ["en", "es"])
def test_an_email_rendered_once_per_batch_is_the_email_rendered_alone(alice, language):
    context = {
        "clinic_name": "Clínica <Sol> & Mar", "language": language,
        "expires_at": timezone.now(),
    }
    batch = EmailBatch()
    for n in range(3):
        links = {"survey_url": f"https://rapport.example/s/tok{n}-A_b/", "unsubscribe_url": f"https://rapport.example/u/tok{n}/"}
        alone = email_render("checkin", {**context, **links}, language=language)
        batched = batch.render("checkin", {**context, **links}, language=language, links=tuple(links))
        assert batched == alone
        assert links["survey_url"] in batched[1] and links["survey_url"] in batched[2]


def test_a_server_that_is_down_sends_nothing_and_every_row_of_the_batch_retries(smtp, alice, settings):
    claims = _claimed(alice, 4)
    settings.EMAIL_PORT = free_port()  # nothing listens there
    outcomes = outbox.invitations_send(claims)
    assert {o.result for o in outcomes.values()} == {"retry"}
    for row in SurveyInvitation.objects.filter(id__in=[c[0] for c in claims]):
        # Each row keeps its claim through the backoff, its attempt released, the error
        # said without the server's words.
        assert row.status == "sending" and row.attempt_started_at is None and row.attempts == 1
        assert row.last_error == "ConnectionRefusedError"
        assert row.email_sent_at is None


# --- The frame: a batch's emails as one message's bytes, filled in per email ----------------


@pytest.fixture(autouse=True)
def _no_frames_yet(monkeypatch):
    """Each test starts with no frames kept (the process keeps them across batches)."""
    from alliance.checkins import emails

    monkeypatch.setattr(emails, "_FRAMES", {})


def _expected(row, token):
    """The email Django builds for this row and token on its own, parsed."""
    from email import message_from_bytes, policy

    email = outbox._email_for(row, token, name="checkin")
    message = email_message(email.pop("name"), **email)
    return message_from_bytes(message.message().as_bytes(linesep="\r\n"), policy=policy.default)


def _same_email(got, want):
    for header in ("Subject", "From", "To", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version"):
        assert got[header] == want[header], header
    for kind in ("plain", "html"):
        assert got.get_body((kind,)).get_content() == want.get_body((kind,)).get_content(), kind
    assert got["Date"] and got["Message-ID"]


def _token_of(message):
    return re.search(r"/s/([A-Za-z0-9_-]{20,})/", message.get_body(("plain",)).get_content()).group(1)


def test_a_batch_s_emails_come_from_one_frame_per_language_and_equal_the_emails_built_alone(
    smtp, alice, clinic, monkeypatch, caplog
):
    from django.core.mail import EmailMultiAlternatives

    clinic.name = "Clínica <Sol> & Mar"
    clinic.save(update_fields=["name"])
    built = []
    real_message = EmailMultiAlternatives.message
    monkeypatch.setattr(EmailMultiAlternatives, "message", lambda self: built.append(1) or real_message(self))
    claims = _claimed(alice, 10)
    claims += _claimed(alice, 3, language="es")
    claims += _claimed(alice, 1, email=f"{'long' * 12}@rapport.example")  # too long for the frame's To line
    outcomes = outbox.invitations_send(claims)
    assert {o.result for o in outcomes.values()} == {"sent"}
    # Django built a message for each language's frame and for its proof, and one for
    # the address the frame cannot take: 5, not 14.
    assert len(built) == 5

    received = smtp.received()
    assert len(received) == 14
    rows = {r.client.email: r for r in SurveyInvitation.objects.select_related("client__clinic")}
    for message in received:
        row = rows[message["To"]]
        token = _token_of(message)
        assert row.token_hash == token_digest(token)
        _same_email(message, _expected(row, token))
        # The email says the expiry the row holds.
        assert row.expires_at is not None and row.sent_at == row.email_sent_at
    assert len({m["Message-ID"] for m in received}) == 14
    assert "frame_mismatch" not in caplog.text


def test_a_frame_that_differs_from_django_s_email_is_not_used(smtp, alice, monkeypatch, caplog):
    from alliance.checkins import emails

    real_fill = emails._Frame.fill
    monkeypatch.setattr(emails._Frame, "fill", lambda self, values: real_fill(self, values).replace(b"MIME", b"MIMO"))
    claims = _claimed(alice, 4)
    outcomes = outbox.invitations_send(claims)
    assert {o.result for o in outcomes.values()} == {"sent"}
    rows = {r.client.email: r for r in SurveyInvitation.objects.select_related("client__clinic")}
    received = smtp.received()
    assert len(received) == 4
    for message in received:
        _same_email(message, _expected(rows[message["To"]], _token_of(message)))
    assert "emails.frame_mismatch" in caplog.text
