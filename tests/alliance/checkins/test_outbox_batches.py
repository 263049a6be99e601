"""A send task's batch: one SMTP connection, a fixed number of statements plus one per
message, and emails identical to those rendered one by one. In this process, against a
real aiosmtpd server; the multi-process guarantees are in test_outbox_worker.py."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alliance.checkins import outbox
from alliance.checkins.emails import EmailBatch, email_render
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
