"""The survey outbox: how a scheduled invitation becomes exactly one email.

DESIGN.md, "How the survey travels". The database is the source of truth and the broker
only carries ids, so every step first wins a conditional UPDATE on the invitation row
and does nothing if it loses:

1. `invitations_dispatch_due` (beat, every minute) claims due rows: scheduled → sending,
   with a fresh `claim_id` and a `lease_until`. On PostgreSQL the candidates are locked
   with SELECT … FOR UPDATE SKIP LOCKED, so two sweeps split the work instead of
   queueing behind each other; on SQLite (whose IMMEDIATE transactions already
   serialise writers) each row is claimed by a conditional UPDATE whose row count says
   whether we won it. After commit each claimed row is queued as
   `send_invitation(id)` with the claim id as the Celery task id.
2. `invitation_send` (the task) starts an attempt only if the row is still `sending`
   under *its* claim and no other attempt holds it: a task delivered twice, or a task
   whose claim was taken back, does nothing. The attempt mints a fresh token, stores
   its digest and commits *before* talking to SMTP, so the link works the moment the
   email lands; then it sends, then marks the row sent.
3. A worker killed mid-send (or a message the broker lost) leaves the row `sending`
   with a lease that runs out; the next sweep renews the claim and queues the task
   again. If the first message still turns up, the attempt guard lets only one of the
   two send. The attempt lease outlasts the hard task time limit, so a claim is never
   renewed under an attempt that may still be talking to SMTP. A resend after failure
   or expiry starts a new claim id, so messages from before it are no-ops.

The residual risk, stated plainly: if the process dies after the SMTP server accepted
the message but before the "sent" UPDATE commits (a window of one UPDATE, which runs
before QUIT; about a millisecond), if the database is unreachable at that moment, or if
the server accepts the message but the connection drops before we read its "250", the
row is sent again when its lease runs out. The client then
gets at most one duplicate per such crash, and the first email's link stops working
(its digest was replaced). Closing that window would need an SMTP provider with
idempotency keys; nothing in plain SMTP lets us ask "did you already take this one?".

Text messages (sms/) travel through the same rows, claims, attempts and leases: a check-in
goes out on every channel the client takes (Client.checkin_channels), each channel with a
link of its own and a sent time of its own. The same window applies to a text: between
the provider's "201 Created" and the UPDATE that records it. Twilio's Messages API has
no idempotency key either, so a crash there costs at most one duplicate text.
"""

import logging
import operator
import smtplib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic
from audit.services import audit_record

from alliance.flags.rules import flags_recompute_for_client
from alliance.models import Channel, SurveyInvitation
from sms import SmsError, sms_send

from .emails import email_send
from .invitations import CHANNEL_COLUMNS, new_token
from .wording import sms_text

log = logging.getLogger(__name__)
Status = SurveyInvitation.Status

# Errors a retry may cure. Anything else is a bug: the task fails, the lease runs out
# and the row is reclaimed until its attempts are used up.
TRANSIENT = (smtplib.SMTPException, OSError, SmsError)


@dataclass(frozen=True)
class Outcome:
    result: str  # sent | retry | failed | cancelled | skipped
    retry_in: int | None = None


SKIPPED = Outcome("skipped")


# --- Links ----------------------------------------------------------------------------


def survey_url(token):
    return settings.SITE_URL + reverse("survey_checkin", args=[token])


def unsubscribe_url(token):
    return settings.SITE_URL + reverse("survey_unsubscribe", args=[token])


def _email_for(invitation, token, *, name):
    client = invitation.client
    clinic = client.clinic
    unsubscribe = unsubscribe_url(token)
    return dict(
        name=name,
        to=client.email,
        language=client.language,
        tz=clinic.tzinfo,
        sender_name=clinic.name,
        context={
            "clinic_name": clinic.name,
            "language": client.language,
            "survey_url": survey_url(token),
            "unsubscribe_url": unsubscribe,
            "expires_at": invitation.expires_at,
        },
        # RFC 2369 and RFC 8058: mail clients show an "Unsubscribe" button that POSTs
        # "List-Unsubscribe=One-Click" to this URL without opening a page.
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def sms_status_url():
    return settings.SITE_URL + reverse("sms_status")


def _sms_for(invitation, token, *, name):
    """The text of a check-in or reminder SMS: the clinic's name and the link, in the
    client's language. Never the therapist, the client's name or anything clinical."""
    client = invitation.client
    return dict(
        to=client.phone,
        body=sms_text(name, language=client.language, clinic=client.clinic.name, url=survey_url(token)),
        status_callback=sms_status_url(),
    )


def _deliver(channel, invitation, token, *, name, on_accepted=None):
    """Send message `name` (checkin, reminder) carrying `token` on one channel, raising
    one of TRANSIENT on failure. `on_accepted(**fields)` runs as soon as the provider has
    taken the message, with what to record of it (a text's provider id)."""
    if channel == Channel.EMAIL:
        email_send(**_email_for(invitation, token, name=name), on_accepted=on_accepted)
        return
    message_id = sms_send(**_sms_for(invitation, token, name=name))
    if on_accepted is not None:
        on_accepted(sms_message_id=message_id[:64], sms_status="queued", sms_error="")


def _short_error(exc):
    """A short description of a delivery error for `last_error`: codes and class names
    only, never the server's text, which often quotes the recipient's address."""
    if isinstance(exc, SmsError):
        return f"SMS: {exc.code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"SMTP recipient refused {codes}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} ({type(exc).__name__})"
    return type(exc).__name__[:300]


def _is_permanent(exc):
    """5xx replies will be refused again; 4xx replies and network errors may pass later.
    (An SMS provider's own error says which it is.)"""
    if isinstance(exc, SmsError):
        return not exc.transient
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return False


def retry_delay(attempts):
    return min(settings.SURVEY_RETRY_BASE_SECONDS * 2**attempts, settings.SURVEY_RETRY_MAX_SECONDS)


# The send tasks (alliance/checkins/tasks.py) by name. The outbox queues them by name
# rather than importing the task module, which imports this one: tasks sit on top of
# the services they call. The names are those the tasks had before the check-in code
# got its own package, so messages already queued by an older release still run.
SEND_INVITATION_TASK = "alliance.tasks.send_invitation"
SEND_REMINDER_TASK = "alliance.tasks.send_reminder"


def _enqueue(task_name, ids_and_claims):
    """Queue one task per claimed row. A broker hiccup here loses nothing: the row stays
    claimed until its lease runs out and the next sweep claims it again."""
    for invitation_id, claim_id in ids_and_claims:
        try:
            current_app.send_task(task_name, args=[invitation_id], task_id=claim_id)
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("outbox.enqueue_failed invitation=%s", invitation_id)


# --- 1. The sweep -----------------------------------------------------------------------


def _claimable(now):
    return Q(status=Status.SCHEDULED, due_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)


def invitations_dispatch_due(*, now=None, limit=None):
    """Claim the invitations that are due, and those whose claim lapsed, and queue a
    send task for each once the claim is committed. Returns the claimed ids."""
    now = now or timezone.now()
    limit = limit or settings.SURVEY_DISPATCH_BATCH
    lease_until = now + timedelta(seconds=settings.SURVEY_STALE_SENDING_SECONDS)
    claimed = []
    with transaction.atomic():
        candidates = SurveyInvitation.objects.filter(_claimable(now)).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        for invitation_id, old_claim in list(candidates.values_list("id", "claim_id")[:limit]):
            # A lapsed claim is renewed under the same id: if its first message is only
            # slow (a long queue) rather than lost, whichever of the two messages runs
            # first sends and the other finds nothing to do, instead of every renewal
            # turning the queued messages into no-ops that the worker must wade through.
            claim_id = old_claim or str(uuid.uuid4())
            # The condition is repeated in the UPDATE: on SQLite it is what makes the
            # claim exclusive (the row count says whether we won); on PostgreSQL the
            # row is already locked, so it always wins.
            won = SurveyInvitation.objects.filter(_claimable(now), id=invitation_id).update(
                status=Status.SENDING, claim_id=claim_id, claimed_at=now, lease_until=lease_until,
                attempt_started_at=None,
            )
            if won:
                claimed.append((invitation_id, claim_id))
        transaction.on_commit(lambda: _enqueue(SEND_INVITATION_TASK, claimed))
    if claimed:
        log.info("outbox.claimed count=%s", len(claimed))
    return [invitation_id for invitation_id, _ in claimed]


# --- 2. One send ------------------------------------------------------------------------


def _pending_channels(invitation):
    """The channels this check-in still has to go out on: those the client takes now,
    less those it already got through on (a retry after one of two failed)."""
    return [c for c in invitation.client.checkin_channels if getattr(invitation, CHANNEL_COLUMNS[c].sent) is None]


def _got_through(invitation):
    """Whether any channel got through, by this attempt (which records it on the object)
    or an earlier one (read with the row: the attempt guard keeps any other run out)."""
    return any(getattr(invitation, columns.sent) is not None for columns in CHANNEL_COLUMNS.values())


def invitation_send(*, invitation_id, claim_id):
    """Send the check-in of one claimed invitation on each of the client's channels, at
    most once per claim and channel.

    Each channel gets a link of its own, stored (as a digest) and committed before the
    message leaves, and is marked sent the moment its provider accepted it. A channel
    already marked is skipped, so a retry after the email got through and the text did
    not sends only the text. The row stays `sending` until every channel got through or
    failed for good; then it is `sent` (if any got through, with the other's error kept
    for the client page) or `failed`.

    Returns an Outcome; `retry_in` asks the caller (the Celery task) to try again later
    under the same claim."""
    now = timezone.now()
    invitation = (
        SurveyInvitation.objects.select_related("client__clinic", "session")
        .filter(id=invitation_id, status=Status.SENDING, claim_id=claim_id)
        .first()
    )
    if invitation is None:
        return SKIPPED
    client, clinic = invitation.client, invitation.client.clinic
    mine = SurveyInvitation.objects.filter(id=invitation_id, status=Status.SENDING, claim_id=claim_id)

    pending = _pending_channels(invitation) if invitation.session.was_attended else []
    if not pending:
        if _got_through(invitation):
            return _finish(invitation, mine, errors=[invitation.last_error] if invitation.last_error else [])
        # Opted out, withdrew consent, lost their address or number, or the session
        # turned out to be a no-show since the invitation was scheduled.
        mine.update(status=Status.CANCELLED, lease_until=None, attempt_started_at=None)
        return Outcome("cancelled")
    if invitation.attempts >= clinic.max_send_attempts:
        # Reclaimed after crashes that used up every attempt.
        return _finish(invitation, mine, errors=[invitation.last_error or "attempts exhausted"])

    with transaction.atomic():
        # The attempt starts only if no other run of this claim holds it (a task
        # delivered twice).
        started = mine.filter(Q(attempt_started_at__isnull=True) | Q(lease_until__lt=now)).update(
            attempts=F("attempts") + 1,
            attempt_started_at=now,
            lease_until=now + timedelta(seconds=settings.SURVEY_ATTEMPT_LEASE_SECONDS),
        )
    if not started:
        return SKIPPED
    # Read back rather than add one to what we read before: a second delivery of this
    # task may have made an attempt in between.
    attempts = SurveyInvitation.objects.values_list("attempts", flat=True).get(id=invitation_id)
    # What the email says about expiry; the row's own expiry is set by the first send.
    invitation.expires_at = invitation.expires_at or now + timedelta(days=clinic.expiry_days)

    errors, retry = [], False
    for channel in pending:
        outcome = _send_on(channel, invitation, mine, attempts)
        if outcome is None:
            continue
        error, permanent = outcome
        log.warning(
            "outbox.send_failed invitation=%s channel=%s attempt=%s error=%s", invitation_id, channel, attempts, error
        )
        errors.append(error)
        retry = retry or not permanent

    if retry and attempts < clinic.max_send_attempts:
        delay = retry_delay(attempts)
        # Release the attempt, and keep the claim for the backoff plus the usual grace
        # so a sweep does not take it back while the retry waits.
        mine.update(
            last_error="; ".join(errors)[:300], attempt_started_at=None,
            lease_until=timezone.now() + timedelta(seconds=delay + settings.SURVEY_STALE_SENDING_SECONDS),
        )
        return Outcome("retry", retry_in=delay)
    return _finish(invitation, mine, errors=errors)


def _send_on(channel, invitation, mine, attempts):
    """Send the check-in on one channel. Returns None when it got through (or was
    stopped on its way by an opt-out), else (error, permanent)."""
    clinic = invitation.client.clinic
    token, digest = new_token()
    # The link's digest is committed before the message leaves, so the link works the
    # moment it lands; and only if the client has not stopped this channel meanwhile.
    columns = CHANNEL_COLUMNS[channel]
    if not mine.filter(**{columns.not_stopped: True}).update(**{columns.token: digest}):
        return None
    marked = []

    def mark_sent(**extra):
        # Runs the moment the server has accepted the message (for email, before QUIT):
        # nothing but this UPDATE lies between acceptance and the commit. See the
        # module docstring for what a crash right here costs.
        sent_at = timezone.now()
        with transaction.atomic():
            done = mine.update(
                **{columns.sent: sent_at},
                sent_at=Coalesce("sent_at", Value(sent_at)),
                expires_at=Coalesce("expires_at", Value(sent_at + timedelta(days=clinic.expiry_days))),
                **extra,
            )
            if done:
                setattr(invitation, columns.sent, sent_at)
                audit_record(
                    action="invitation.sent", obj=invitation, clinic=clinic,
                    detail={"session_id": invitation.session_id, "attempts": attempts, "channel": channel},
                )
        marked.append(done)

    try:
        _deliver(channel, invitation, token, name="checkin", on_accepted=mark_sent)
    except TRANSIENT as exc:
        if marked:
            # Accepted and recorded; only closing the connection failed.
            return None
        return _short_error(exc), _is_permanent(exc)
    if not marked[0]:
        # Cancelled by an opt-out, or answered in the session, while on its way.
        log.warning("outbox.sent_but_not_marked invitation=%s channel=%s", invitation.id, channel)
    return None


def _finish(invitation, mine, *, errors):
    """End the claim: `sent` if any channel got through (keeping the others' errors for
    the client page), else `failed`."""
    error = "; ".join(e for e in errors if e)[:300]
    if _got_through(invitation):
        mine.update(status=Status.SENT, last_error=error, attempt_started_at=None, lease_until=None)
        return Outcome("sent")
    return _fail(invitation, mine, error or "no channel got through")


def _fail(invitation, mine, error):
    with transaction.atomic():
        if mine.update(status=Status.FAILED, last_error=error[:300], attempt_started_at=None, lease_until=None):
            audit_record(
                action="invitation.failed", obj=invitation, clinic=invitation.client.clinic,
                detail={"session_id": invitation.session_id},
            )
    return Outcome("failed")


# --- Reminders ----------------------------------------------------------------------------


# A channel it went out on that the client has not stopped since.
_remindable = reduce(
    operator.or_, (Q(**{f"{c.sent}__isnull": False, c.not_stopped: True}) for c in CHANNEL_COLUMNS.values())
)


def invitations_remind_due(*, now=None):
    """Claim the sent, unanswered invitations whose reminder is due (per clinic:
    `reminder_after_hours` after sending, before expiry) and queue one reminder each.

    Setting `reminded_at` is the claim, so a reminder is sent at most once: a crash
    mid-send loses that reminder rather than sending two. A lost reminder costs little;
    a second one is noise in someone's inbox."""
    now = now or timezone.now()
    claimed = []
    with transaction.atomic():
        for clinic in Clinic.objects.only("id", "reminder_after_hours"):
            due = SurveyInvitation.objects.filter(
                client__clinic=clinic, status=Status.SENT, reminded_at__isnull=True,
                sent_at__lte=now - timedelta(hours=clinic.reminder_after_hours),
                expires_at__gt=now,
            ).filter(_remindable).values_list("id", flat=True)
            for invitation_id in list(due[: settings.SURVEY_DISPATCH_BATCH]):
                won = SurveyInvitation.objects.filter(
                    id=invitation_id, status=Status.SENT, reminded_at__isnull=True
                ).update(reminded_at=now)
                if won:
                    claimed.append((invitation_id, None))
        transaction.on_commit(lambda: _enqueue(SEND_REMINDER_TASK, claimed))
    return [invitation_id for invitation_id, _ in claimed]


def invitation_send_reminder(*, invitation_id, retries=0):
    """Send the one reminder of a claimed invitation by the same channels its check-in
    went out on, each with a token of its own so the first message's link keeps
    working. A channel whose reminder went out is skipped on a retry."""
    invitation = (
        SurveyInvitation.objects.select_related("client__clinic")
        .filter(id=invitation_id, status=Status.SENT, reminded_at__isnull=False)
        .first()
    )
    if invitation is None:
        return SKIPPED
    client, clinic = invitation.client, invitation.client.clinic
    channels = [
        c for c in client.checkin_channels
        if getattr(invitation, CHANNEL_COLUMNS[c].sent) is not None and getattr(invitation, CHANNEL_COLUMNS[c].reminder) is None
    ]
    sent, retry, failed = [], False, False
    for channel in channels:
        token, digest = new_token()
        field = CHANNEL_COLUMNS[channel].reminder
        with transaction.atomic():
            # Whoever stores the reminder digest first sends; a second delivery of this
            # task finds it stored and stops.
            started = SurveyInvitation.objects.filter(
                id=invitation_id, status=Status.SENT, **{f"{field}__isnull": True, CHANNEL_COLUMNS[channel].not_stopped: True},
            ).update(**{field: digest})
        if not started:
            continue
        try:
            _deliver(channel, invitation, token, name="reminder")
        except TRANSIENT as exc:
            error = _short_error(exc)
            # Nothing was delivered: free the slot so a retry can mint a new token.
            SurveyInvitation.objects.filter(id=invitation_id, **{field: digest}).update(
                **{field: None}, last_error=f"reminder: {error}"[:300]
            )
            if _is_permanent(exc) or retries + 1 >= clinic.max_send_attempts:
                failed = True
            else:
                retry = True
            continue
        sent.append(channel)
        audit_record(
            action="invitation.reminded", obj=invitation, clinic=clinic,
            detail={"session_id": invitation.session_id, "channel": channel},
        )
    if retry:
        return Outcome("retry", retry_in=retry_delay(retries + 1))
    if sent:
        return Outcome("sent")
    return Outcome("failed") if failed else SKIPPED


# --- Expiry -------------------------------------------------------------------------------


def invitations_expire(*, now=None):
    """Expire sent invitations whose link ran out unanswered, then recompute the flags
    of their clients (two expiries in a row raise "no feedback"). Returns the count."""
    now = now or timezone.now()
    rows = list(
        SurveyInvitation.objects.select_related("client__clinic")
        .filter(status=Status.SENT, expires_at__lte=now)
        .order_by("expires_at", "id")[: settings.SURVEY_DISPATCH_BATCH]
    )
    clients, count = {}, 0
    for invitation in rows:
        with transaction.atomic():
            # answered_at guards the race with a client submitting at the last second.
            expired = SurveyInvitation.objects.filter(
                id=invitation.id, status=Status.SENT, expires_at__lte=now, answered_at__isnull=True
            ).update(status=Status.EXPIRED)
            if expired:
                audit_record(
                    action="invitation.expired", obj=invitation, clinic=invitation.client.clinic,
                    detail={"session_id": invitation.session_id},
                )
                clients[invitation.client_id] = invitation.client
                count += 1
    for client in clients.values():
        flags_recompute_for_client(client=client)
    return count


# --- Resend -------------------------------------------------------------------------------


@transaction.atomic
def invitation_resend(*, invitation, by):
    """Send a failed or expired check-in again, now, as a new invitation: attempts
    reset, old links dead. Returns False when the invitation cannot be resent (it is in
    another state, or the client may no longer receive check-ins)."""
    client = invitation.client
    if not client.can_receive_surveys:
        return False
    now = timezone.now()
    reset = SurveyInvitation.objects.filter(id=invitation.id, status__in=[Status.FAILED, Status.EXPIRED]).update(
        status=Status.SCHEDULED, due_at=now, attempts=0, last_error="", claim_id="", claimed_at=None,
        attempt_started_at=None, lease_until=None, sent_at=None, reminded_at=None, opened_at=None,
        expires_at=None, token_hash=new_token()[1], reminder_token_hash=None,
        email_sent_at=None, sms_sent_at=None, sms_token_hash=None, sms_reminder_token_hash=None,
        sms_message_id="", sms_status="", sms_error="",
    )
    if not reset:
        return False
    audit_record(
        action="invitation.resend", actor=by, obj=invitation, clinic=client.clinic,
        detail={"session_id": invitation.session_id},
    )
    # An expired invitation no longer counts towards "no feedback".
    flags_recompute_for_client(client=client)
    return True
