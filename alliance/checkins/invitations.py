"""Survey invitations: the outbox rows behind each client check-in email.

Scheduling happens inside the transaction that saves the session (see
sessions.services), so a rolled-back session never leaves an invitation behind, and an
invitation never exists without its committed session.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from alliance.models import Channel, SurveyInvitation

TOKEN_BYTES = 32  # 256 random bits; the issue asks for at least 128.


@dataclass(frozen=True)
class ChannelColumns:
    """Where an invitation keeps one outbox channel's state: its link's digest, its
    reminder link's digest, when it got through, and the lookup that says the client has
    not stopped it (unsubscribed, or replied STOP)."""

    token: str
    reminder: str
    sent: str
    not_stopped: str


CHANNEL_COLUMNS = {
    Channel.EMAIL: ChannelColumns("token_hash", "reminder_token_hash", "email_sent_at", "client__opted_out_at__isnull"),
    Channel.SMS: ChannelColumns(
        "sms_token_hash", "sms_reminder_token_hash", "sms_sent_at", "client__sms_opted_out_at__isnull"
    ),
}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (token, digest) pair. Only the digest is ever stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def invitation_schedule_for_session(*, session):
    """Create, move or cancel the invitation of a session so it matches the session as
    saved now. Must run inside the transaction that saves the session.

    Only an attended session of a client who consented, has an address and has not
    opted out gets one. A session logged so late that its check-in would already have
    expired gets none either: asking about a session weeks ago helps nobody.

    The stored digest starts as the digest of a token nobody knows: the real token is
    minted by the sender at send time (alliance/checkins/outbox.py), because only its digest may
    be stored and the email needs the token itself.
    """
    client = session.client
    clinic = client.clinic
    due_at = session.ends_at + timedelta(hours=clinic.survey_delay_hours)
    too_late = due_at + timedelta(days=clinic.expiry_days) <= timezone.now()
    eligible = session.was_attended and client.can_receive_surveys and not too_late
    existing = SurveyInvitation.objects.filter(session=session).first()
    if existing is not None:
        # Each write is conditional on the state just read: the sweep may claim the row
        # between our read and our write (on PostgreSQL nothing serialises the two), and
        # an unconditional save would put a row being sent back to "scheduled", so it
        # would be sent twice.
        waiting = [SurveyInvitation.Status.SCHEDULED, SurveyInvitation.Status.CANCELLED]
        rows = SurveyInvitation.objects.filter(pk=existing.pk)
        if eligible and existing.status in waiting:
            # Moved (new time) or corrected back to attended after a cancellation.
            if rows.filter(status__in=waiting).update(due_at=due_at, status=SurveyInvitation.Status.SCHEDULED):
                existing.due_at, existing.status = due_at, SurveyInvitation.Status.SCHEDULED
        elif not eligible and existing.status == SurveyInvitation.Status.SCHEDULED:
            if rows.filter(status=SurveyInvitation.Status.SCHEDULED).update(status=SurveyInvitation.Status.CANCELLED):
                existing.status = SurveyInvitation.Status.CANCELLED
        return existing
    if not eligible:
        return None
    return SurveyInvitation.objects.create(session=session, client=client, token_hash=new_token()[1], due_at=due_at)
