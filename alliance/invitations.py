"""Survey invitations: the outbox rows behind each client check-in email.

Scheduling happens inside the transaction that saves the session (see
sessions.services), so a rolled-back session never leaves an invitation behind, and an
invitation never exists without its committed session.
"""

import hashlib
import secrets
from datetime import timedelta

from .models import SurveyInvitation

TOKEN_BYTES = 32  # 256 random bits; the issue asks for at least 128.


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh (token, digest) pair. Only the digest is ever stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)


def invitation_schedule_for_session(*, session):
    """Create, move or cancel the invitation of a session so it matches the session as
    saved now. Must run inside the transaction that saves the session.

    The stored digest starts as the digest of a token nobody knows: the real token is
    minted by the sender at send time, because only its digest may be stored and the
    email needs the token itself.
    """
    client = session.client
    clinic = client.clinic
    existing = SurveyInvitation.objects.filter(session=session).first()
    eligible = session.was_attended and client.can_receive_surveys
    if existing is not None:
        if existing.status == SurveyInvitation.Status.SCHEDULED:
            if eligible:
                existing.due_at = session.ends_at + timedelta(hours=clinic.survey_delay_hours)
                existing.save(update_fields=["due_at"])
            else:
                existing.status = SurveyInvitation.Status.CANCELLED
                existing.save(update_fields=["status"])
        return existing
    if not eligible:
        return None
    return SurveyInvitation.objects.create(
        session=session,
        client=client,
        token_hash=new_token()[1],
        due_at=session.ends_at + timedelta(hours=clinic.survey_delay_hours),
    )
