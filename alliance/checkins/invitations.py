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
from django.utils.formats import date_format

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


# Why a session gets no check-in after it (why_no_checkin), most basic first.
NOT_ATTENDED = "not_attended"
NO_CHANNEL = "no_channel"
TOO_LATE = "too_late"


def invitation_due_at(session):
    """When a session's check-in goes out: the clinic's delay after the session ends."""
    return session.ends_at + timedelta(hours=session.client.clinic.survey_delay_hours)


def why_no_checkin(session, *, now=None):
    """None if the session, as saved now, should have a check-in sent after it; otherwise
    why not: NOT_ATTENDED (booked, missed or cancelled), NO_CHANNEL (the client takes no
    channel the clinic asks by), TOO_LATE (it would already have expired)."""
    if not session.was_attended:
        return NOT_ATTENDED
    if not session.client.can_receive_surveys:
        return NO_CHANNEL
    clinic = session.client.clinic
    if invitation_due_at(session) + timedelta(days=clinic.expiry_days) <= (now or timezone.now()):
        return TOO_LATE
    return None


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
    due_at = invitation_due_at(session)
    eligible = why_no_checkin(session) is None
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
    return SurveyInvitation.objects.create(session=session, client=session.client, token_hash=new_token()[1], due_at=due_at)


# --- What the therapist is told after saving a session --------------------------------

CHANNEL_VERBS = {Channel.EMAIL: "emailed", Channel.SMS: "texted"}


def _when(at, *, tz, now):
    """"at 15:30", "tomorrow at 09:00" or "on Tue 9 Jun at 15:30", on the clinic's clock;
    "in the next few minutes" for a time already reached (the sweep runs every minute)."""
    if at <= now:
        return "in the next few minutes"
    local, today = timezone.localtime(at, tz), timezone.localtime(now, tz).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"at {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow at {clock}"
    return f"on {date_format(local, 'D j M')} at {clock}"


def checkin_outlook(*, session, invitation, now=None):
    """One or two sentences for the therapist who has just saved `session`: when its
    check-in goes out and by which channels, in the clinic's time zone ("The check-in
    will be emailed at 15:30 and texted at 15:30."), or plainly why none will be.
    `invitation` is the session's invitation as saved (or None)."""
    now = now or timezone.now()
    client = session.client
    S = SurveyInvitation.Status
    status = invitation.status if invitation is not None else None
    if status == S.SCHEDULED:
        when = _when(invitation.due_at, tz=client.clinic.tzinfo, now=now)
        channels = client.checkin_channels
        if not channels:  # The client stopped every channel since: the sweep will cancel it.
            return "No check-in will be sent: the client can no longer receive one by email or text."
        return "The check-in will be " + " and ".join(f"{CHANNEL_VERBS[c]} {when}" for c in channels) + "."
    if status == S.SENDING:
        return "The check-in is being sent now."
    if status == S.SENT:
        return "The check-in was already sent."
    if status == S.ANSWERED:
        return "The client has already answered this session's check-in."
    if status == S.EXPIRED:
        return "This session's check-in expired unanswered."
    if status == S.FAILED:
        return "This session's check-in could not be delivered; you can send it again from the client's page."
    reason = why_no_checkin(session, now=now)
    if session.is_booked:
        return ("No check-in is sent for a booked session: once it has happened, record whether the "
                "client came, and an attended session's check-in is scheduled then.")
    if reason == NOT_ATTENDED:
        return "No check-in will be sent: the session was not attended."
    if reason == NO_CHANNEL:
        if not client.is_active:
            return f"No check-in will be sent: {client.display_name} is discharged."
        return (f"No check-in will be sent: {client.display_name} cannot receive one by email or text "
                "(no consent, no address or number, they opted out, or the clinic does not ask that way).")
    if reason == TOO_LATE:
        return (f"No check-in will be sent: the session is too long ago (a check-in closes "
                f"{client.clinic.expiry_days} days after it is due).")
    return "No check-in will be sent."
