"""Fixtures of the survey outbox tests. The real services they run on (an aiosmtpd SMTP
server in this process, Celery worker subprocesses on this run's own queue and test
database) live in tests/services.py, shared with the browser tests; imported here, they
are fixtures of every test in this folder. Nothing is mocked: a test passes only if an
email really crossed SMTP."""

import pytest
from django.db import connection, transaction

from alliance.checkins.invitations import invitation_schedule_for_session
from tests.factories import SessionFactory
from tests.services import (  # noqa: F401 - fixtures and helpers the tests here use
    DEADLINE,
    ROOT,
    CollectingHandler,
    SMTPServer,
    Worker,
    celery_worker,
    fake_twilio,
    forget_queue_in_redis,
    free_port,
    links_in,
    purge_queue,
    smtp_server,
    wait_for,
)

# --- Data ------------------------------------------------------------------------------------


def log_session(**kwargs):
    """Save a session and schedule its invitation in one transaction, as session
    logging does (sessions/services.py)."""
    with transaction.atomic():
        session = SessionFactory(**kwargs)
        invitation = invitation_schedule_for_session(session=session)
    return session, invitation


def send_inline(invitation):
    """Claim and send one invitation in this process (the test settings' locmem email
    backend keeps the email in django.core.mail.outbox). Returns the Outcome."""
    from alliance.checkins import outbox

    claimed = outbox.invitations_dispatch_due()
    assert invitation.id in claimed
    if not connection.in_atomic_block:
        # A transactional test: the sweep's on-commit hook queued a task no worker will
        # take. Drop it rather than leave it in the broker.
        purge_queue()
    invitation.refresh_from_db()
    return outbox.invitation_send(invitation_id=invitation.id, claim_id=invitation.claim_id)


def token_of(message):
    """The check-in token in an email (locmem EmailMessage or a received message)."""
    import re

    body = message.body if hasattr(message, "body") else message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"/s/([A-Za-z0-9_-]{20,})/\s", body).group(1)


@pytest.fixture
def sent_invitation(alice_client):
    """An invitation for alice's client, sent; returns (invitation, token)."""
    from django.core import mail

    _, invitation = log_session(client=alice_client)
    assert send_inline(invitation).result == "sent"
    invitation.refresh_from_db()
    return invitation, token_of(mail.outbox[-1])
