"""The check-in in the session itself, before the client leaves the room (DESIGN.md,
"Channels").

Two ways, both started by the therapist from the session page:

- on the client's own phone: a QR code and a short code on the therapist's screen open
  the same check-in page an email's link opens. The QR code carries a full 256-bit
  token; the short code (8 characters from an alphabet without look-alikes, about 40
  bits) is for typing, and is only guessable in theory: it lives a few minutes, opens
  one answer, and the client pages are rate limited per address.
- on the therapist's device: a hand-over screen (alliance/checkins/handover.py) shows
  only the check-in; the device is locked until the therapist proves who they are.

Both are links of the session's one invitation, with the same rules as the outbox's
(only digests stored, a GET changes nothing, one answer closes the ask on every
channel). Starting again replaces the previous in-session link, so an old QR code
stops working; an answer in the session means the email or text is never sent.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alliance.models import Channel, CheckIn, SurveyInvitation
from audit.services import audit_record

from .invitations import new_token, token_digest

Status = SurveyInvitation.Status
# No 0/O, 1/I/L: read off a screen and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
IN_SESSION_CHANNELS = (Channel.IN_SESSION_PHONE, Channel.IN_SESSION_DEVICE)


class CannotStart(Exception):
    """Why an in-session check-in cannot start, in words for the therapist."""


def code_normalise(code):
    """What the client typed, as stored: capitals, no spaces or dashes."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:CODE_LENGTH * 2]


def code_format(code):
    """ABCD-EFGH: easier to read aloud and to type."""
    return f"{code[:4]}-{code[4:]}"


def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def in_session_blocker(session):
    """None if an in-session check-in can start for this session, else why not."""
    client = session.client
    if not client.is_active:
        return "The client is discharged."
    if not session.was_attended:
        return "Only an attended session has a check-in."
    if session.scheduled_start > timezone.now():
        return "The session has not started yet."
    if CheckIn.objects.filter(session=session, source=CheckIn.Source.CLIENT).exists():
        return "The client has already answered this session's check-in."
    return None


@transaction.atomic
def in_session_start(*, session, by, channel, request=None):
    """Open a fresh in-session link for this session's check-in. Returns
    (invitation, token, code): the token for the QR code or the hand-over screen, the
    code for typing. Neither is stored, only their digests."""
    if channel not in IN_SESSION_CHANNELS:
        raise ValueError(channel)
    reason = in_session_blocker(session)
    if reason:
        raise CannotStart(reason)
    now = timezone.now()
    expires = now + timedelta(minutes=settings.IN_SESSION_CHECKIN_MINUTES)
    token, digest = new_token()
    code = new_code()
    fields = dict(
        in_session_token_hash=digest, in_session_code_hash=token_digest(code),
        in_session_channel=channel, in_session_expires_at=expires,
    )
    invitation = SurveyInvitation.objects.select_for_update().filter(session=session).first()
    if invitation is None:
        # A client the outbox does not reach (no address, no consent): the ask exists
        # only here, and expires with its link like any other unanswered one.
        invitation = SurveyInvitation.objects.create(
            session=session, client=session.client, token_hash=new_token()[1], status=Status.SENT,
            due_at=now, sent_at=now, expires_at=expires, **fields,
        )
        from clinic.dashboards.figures import figures_stale

        figures_stale(clinic=session.client.clinic, instants=[now])
    else:
        if invitation.status == Status.ANSWERED:
            raise CannotStart("The client has already answered this session's check-in.")
        SurveyInvitation.objects.filter(pk=invitation.pk).update(**fields)
        for name, value in fields.items():
            setattr(invitation, name, value)
    audit_record(
        action="invitation.in_session_started", actor=by, obj=invitation, clinic=session.client.clinic,
        detail={"session_id": session.pk, "channel": channel}, request=request,
    )
    return invitation, token, code


def invitation_for_code(code):
    """The invitation a live short code opens, or None."""
    code = code_normalise(code)
    if len(code) != CODE_LENGTH:
        return None
    return SurveyInvitation.objects.filter(
        in_session_code_hash=token_digest(code), in_session_expires_at__gt=timezone.now(), answered_at__isnull=True,
    ).exclude(status=Status.ANSWERED).first()
