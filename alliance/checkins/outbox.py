"""The survey outbox: how a scheduled invitation becomes exactly one email.

DESIGN.md, "How the survey travels". The database is the source of truth and the broker
only carries ids, so every step first wins a conditional UPDATE on the invitation row
and does nothing if it loses:

1. `invitations_dispatch_due` (beat, every minute) claims due rows: scheduled → sending,
   with a fresh `claim_id` and a `lease_until`. On PostgreSQL that is one UPDATE whose
   subquery locks the candidates with FOR UPDATE SKIP LOCKED, so two sweeps split the
   work instead of queueing behind each other; on SQLite (whose IMMEDIATE transactions
   already serialise writers) each row is claimed by a conditional UPDATE whose row
   count says whether we won it. After commit the claimed rows are queued as
   `send_invitations([[id, claim id], …])`, SURVEY_SEND_BATCH rows to a task.
2. `invitations_send` (the task) starts an attempt on each row only if it is still
   `sending` under *its* claim and no other attempt holds it: a task delivered twice,
   or a task whose claim was taken back, does nothing. The attempt mints a fresh token
   per row and channel, stores the digests and the link's expiry and commits *before*
   talking to SMTP, so each link works the moment its email lands; then it sends the
   batch's emails over one SMTP connection (each filled into one frame of bytes,
   alliance/checkins/emails.py), marking each row's channel sent as soon as its email
   was accepted and before the next one goes; the row becomes `sent` at the batch's end.
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
from functools import lru_cache, reduce

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Concat, Least
from django.db.models.lookups import Exact
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic
from audit.services import audit_record, audit_record_many
from config import prepared

from alliance.flags.rules import flags_recompute_for_client
from alliance.models import Channel, SurveyInvitation
from clinic.dashboards.figures import figures_stale
from sms import SmsError, sms_send

from .emails import EmailBatch
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
    return _link("survey_checkin", token)


def unsubscribe_url(token):
    return _link("survey_unsubscribe", token)


_TOKEN_MARK = "TOKEN"


@lru_cache(maxsize=8)
def _link_parts(url_name, site_url):
    """The absolute URL of `url_name` around its token, reversed once per process: a
    batch builds two links an email, and reversing is most of what building one costs.
    (Tokens are URL-safe base64, which reverse() would leave as they are.)"""
    before, _, after = (site_url + reverse(url_name, args=[_TOKEN_MARK])).rpartition(_TOKEN_MARK)
    return before, after


def _link(url_name, token):
    before, after = _link_parts(url_name, settings.SITE_URL)
    return f"{before}{token}{after}"


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


def _deliver(channel, invitation, token, *, name, on_accepted=None, mailer=None):
    """Send message `name` (checkin, reminder) carrying `token` on one channel, raising
    one of TRANSIENT on failure. `on_accepted(**fields)` runs as soon as the provider has
    taken the message, with what to record of it (a text's provider id). Emails go over
    `mailer` (an EmailBatch) when given, else over a connection of their own."""
    if channel == Channel.EMAIL:
        email = dict(**_email_for(invitation, token, name=name), links=("survey_url", "unsubscribe_url"))
        if mailer is None:
            with EmailBatch() as mailer:
                mailer.send_email(**email, on_accepted=on_accepted)
        else:
            mailer.send_email(**email, on_accepted=on_accepted)
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
SEND_INVITATIONS_TASK = "alliance.tasks.send_invitations"
SEND_REMINDER_TASK = "alliance.tasks.send_reminder"


def _enqueue(task_name, ids_and_claims):
    """Queue one task per claimed row. A broker hiccup here loses nothing: the row stays
    claimed until its lease runs out and the next sweep claims it again."""
    for invitation_id, claim_id in ids_and_claims:
        try:
            current_app.send_task(task_name, args=[invitation_id], task_id=claim_id)
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("outbox.enqueue_failed invitation=%s", invitation_id)


def enqueue_sends(claims, *, countdown=None):
    """Queue the claimed rows' sends, SURVEY_SEND_BATCH (id, claim) pairs to a task, so a
    worker sends a batch over one SMTP connection at a fixed number of statements. A
    broker hiccup loses nothing, as for `_enqueue`."""
    claims = [list(pair) for pair in claims]
    size = settings.SURVEY_SEND_BATCH
    for start in range(0, len(claims), size):
        chunk = claims[start:start + size]
        try:
            current_app.send_task(SEND_INVITATIONS_TASK, args=[chunk], countdown=countdown)
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("outbox.enqueue_failed invitations=%s", [pair[0] for pair in chunk])


def enqueue_retries(claims, outcomes):
    """Queue again, after their backoff, the rows of a batch whose send asked for a retry
    (their claims are kept for the backoff plus the usual grace)."""
    by_delay = {}
    for invitation_id, claim_id in claims:
        outcome = outcomes.get(invitation_id)
        if outcome is not None and outcome.retry_in is not None:
            by_delay.setdefault(outcome.retry_in, []).append((invitation_id, claim_id))
    for delay, retry in sorted(by_delay.items()):
        enqueue_sends(retry, countdown=delay)


# --- 1. The sweep -----------------------------------------------------------------------


def _claimable(now):
    return Q(status=Status.SCHEDULED, due_at__lte=now) | Q(status=Status.SENDING, lease_until__lt=now)


def invitations_dispatch_due(*, now=None, limit=None):
    """Claim the invitations that are due, and those whose claim lapsed, and queue a
    send task for each once the claim is committed. Returns the claimed ids."""
    now = now or timezone.now()
    limit = limit or settings.SURVEY_DISPATCH_BATCH
    lease_until = now + timedelta(seconds=settings.SURVEY_STALE_SENDING_SECONDS)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            claimed = _claim_in_one_statement(now, limit, lease_until)
        else:
            claimed = _claim_one_by_one(now, limit, lease_until)
        transaction.on_commit(lambda: enqueue_sends(claimed))
    if claimed:
        log.info("outbox.claimed count=%s", len(claimed))
    return [invitation_id for invitation_id, _ in claimed]


def _claim_one_by_one(now, limit, lease_until):
    """The claim elsewhere (SQLite): a conditional UPDATE per candidate."""
    claimed = []
    candidates = SurveyInvitation.objects.filter(_claimable(now)).order_by("due_at", "id")
    for invitation_id, old_claim in list(candidates.values_list("id", "claim_id")[:limit]):
        # A lapsed claim is renewed under the same id: if its first message is only
        # slow (a long queue) rather than lost, whichever of the two messages runs
        # first sends and the other finds nothing to do, instead of every renewal
        # turning the queued messages into no-ops that the worker must wade through.
        claim_id = old_claim or str(uuid.uuid4())
        # The condition is repeated in the UPDATE: it is what makes the claim exclusive
        # (the row count says whether we won).
        won = SurveyInvitation.objects.filter(_claimable(now), id=invitation_id).update(
            status=Status.SENDING, claim_id=claim_id, claimed_at=now, lease_until=lease_until,
            attempt_started_at=None,
        )
        if won:
            claimed.append((invitation_id, claim_id))
    return claimed


def _claim_in_one_statement(now, limit, lease_until):
    """The claim on PostgreSQL: one UPDATE of the due rows, locked by its subquery
    with FOR UPDATE SKIP LOCKED (two sweeps split the work instead of queueing behind
    each other), returning (id, claim id) in due order. A lapsed claim keeps its id (see
    invitations_dispatch_due); a new one gets a fresh uuid4 from gen_random_uuid()."""
    candidates = (
        SurveyInvitation.objects.filter(_claimable(now)).order_by("due_at", "id")
        .select_for_update(skip_locked=True).values("id")[:limit]
    )
    sql, params = candidates.query.sql_with_params()
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {q(SurveyInvitation._meta.db_table)} SET {q('status')} = %s,"
            f" {q('claim_id')} = COALESCE(NULLIF({q('claim_id')}, ''), gen_random_uuid()::text),"
            f" {q('claimed_at')} = %s, {q('lease_until')} = %s, {q('attempt_started_at')} = NULL"
            # = ANY(ARRAY(…)): the locking subquery runs once (as IN (…) it may run again
            # per row of a nested loop, and claim past the limit).
            f" WHERE {q('id')} = ANY(ARRAY({sql})) RETURNING {q('id')}, {q('claim_id')}, {q('due_at')}",
            [Status.SENDING, now, lease_until, *params],
        )
        rows = cursor.fetchall()
    return [(invitation_id, claim_id) for invitation_id, claim_id, _ in sorted(rows, key=lambda r: (r[2], r[0]))]


# --- 2. A batch of sends ----------------------------------------------------------------


def _pending_channels(invitation):
    """The channels this check-in still has to go out on: those the client takes now,
    less those it already got through on (a retry after one of two failed)."""
    return [c for c in invitation.client.checkin_channels if getattr(invitation, CHANNEL_COLUMNS[c].sent) is None]


def _got_through(invitation):
    """Whether any channel got through, by this attempt (which records it on the object)
    or an earlier one (read with the row: the attempt guard keeps any other run out)."""
    return any(getattr(invitation, columns.sent) is not None for columns in CHANNEL_COLUMNS.values())


def _still(status):
    """`status = <status>` for statements that name their rows by id, written so that
    no index can answer it: then PostgreSQL finds the rows by primary key. Compared
    plainly, the condition makes the (status, …) indexes candidates, and when the
    statistics say few rows are `sending` (as they do until the next ANALYZE of a busy
    morning) the planner prefers one and walks every sending row, live and dead, for
    each statement: the cost of marking an email sent grew with the backlog."""
    return Exact(Concat("status", Value("")), Value(status))


def _mine(invitation_id, claim_id):
    return SurveyInvitation.objects.filter(_still(Status.SENDING), id=invitation_id, claim_id=claim_id)


def _claimed_by(invitations):
    """Rows still `sending` under the claims these objects were read with. (Every claim
    id is a fresh uuid4 of one row, so matching ids and claims as two sets is matching
    them pair by pair.)"""
    return SurveyInvitation.objects.filter(
        _still(Status.SENDING), id__in=[i.id for i in invitations], claim_id__in=[i.claim_id for i in invitations]
    )


def _mark_sent_sql(channel, extra):
    """The UPDATE that records one message accepted, as SQL built once per channel and
    set of extra columns: it runs once per message, and building it through the ORM
    each time cost more than running it, and prepared once per connection (as
    config/prepared.py does the check-in's), as planning it did too. Returns its name
    and SQL; parameters: the sent time, the extra columns' values, then the row's id,
    the status `sending` and its claim.

    It writes the channel's sent time and nothing that is indexed (for an email,
    nothing else at all), so PostgreSQL can make it a heap-only update: no entry in any
    of the table's indexes, on the one write that lies between two messages. The row's
    expiry was set when the attempt started; its `sent_at` is set with its status."""
    key = (channel, tuple(extra))
    if key not in _MARK_SENT_SQL:
        q = connection.ops.quote_name
        meta = SurveyInvitation._meta
        sent = meta.get_field(CHANNEL_COLUMNS[channel].sent).column
        sets = [f"{q(sent)} = %s"]
        sets += [f"{q(meta.get_field(name).column)} = %s" for name in extra]
        _MARK_SENT_SQL[key] = f"rapport_mark_sent_{len(_MARK_SENT_SQL)}", (
            f"UPDATE {q(meta.db_table)} SET {', '.join(sets)} "
            # The status as _still compares it: the row is found by its id.
            f"WHERE {q('id')} = %s AND {q('status')} || '' = %s AND {q('claim_id')} = %s"
        )
    return _MARK_SENT_SQL[key]


_MARK_SENT_SQL = {}


def _update_returning(queryset, returning, **values):
    """queryset.update(**values) as one statement that also returns `returning` of the
    rows it changed (UPDATE … RETURNING, on PostgreSQL and SQLite 3.35+), so a batch
    learns which of its conditional updates it won without a second round trip."""
    from django.db.models.sql import UpdateQuery

    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    compiler = query.get_compiler(queryset.db)
    compiler.pre_sql_setup()
    sql, params = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {', '.join(returning)}", params)
        return cursor.fetchall()


def invitation_send(*, invitation_id, claim_id):
    """Send the check-in of one claimed invitation (see `invitations_send`). Returns an
    Outcome; `retry_in` asks the caller to try again later under the same claim."""
    return invitations_send([(invitation_id, claim_id)])[invitation_id]


def invitations_send(claims):
    """Send the check-ins of a batch of claimed invitations, `claims` being
    (invitation id, claim id) pairs, on each of their clients' channels, at most once
    per claim and channel. Returns {invitation id: Outcome}.

    The batch costs a fixed number of statements, whatever its size, but one: the
    rows are read in one query, their attempts started in one UPDATE, their links'
    digests stored in one UPDATE per channel (committed before any message leaves, so
    each link works the moment it lands); the emails go over one SMTP connection; the
    audit rows and the final `sent` are one statement each. The one write per message
    is the UPDATE that marks it sent, run the moment its provider accepted it and before
    the next message is sent: that is what keeps a crash to at most one duplicate (the
    module docstring). A crash also loses the audit rows of the batch's sent messages,
    which are written at its end; their sent times are on the rows.

    A channel already marked is skipped, so a retry after the email got through and
    the text did not sends only the text. A row stays `sending` until every channel got
    through or failed for good; then it is `sent` (if any got through, with the other's
    error kept for the client page) or `failed`."""
    claims = dict(claims)
    outcomes = dict.fromkeys(claims, SKIPPED)
    now = timezone.now()
    rows = [
        invitation
        for invitation in SurveyInvitation.objects.select_related("client__clinic", "session").filter(
            _still(Status.SENDING), id__in=list(claims)
        )
        if invitation.claim_id == claims[invitation.id]
    ]
    ready = []
    for invitation in rows:
        invitation.pending = _pending_channels(invitation) if invitation.session.was_attended else []
        if not invitation.pending:
            mine = _mine(invitation.id, invitation.claim_id)
            if _got_through(invitation):
                errors = [invitation.last_error] if invitation.last_error else []
                outcomes[invitation.id] = _finish(invitation, mine, errors=errors)
            else:
                # Opted out, withdrew consent, lost their address or number, or the
                # session turned out to be a no-show since the invitation was scheduled.
                mine.update(status=Status.CANCELLED, lease_until=None, attempt_started_at=None)
                outcomes[invitation.id] = Outcome("cancelled")
        elif invitation.attempts >= invitation.client.clinic.max_send_attempts:
            # Reclaimed after crashes that used up every attempt.
            mine = _mine(invitation.id, invitation.claim_id)
            outcomes[invitation.id] = _finish(invitation, mine, errors=[invitation.last_error or "attempts exhausted"])
        else:
            ready.append(invitation)
    if not ready:
        return outcomes

    # A link expires expiry_days after the attempt that first gets a message through:
    # set here, with the attempt, so the row and the email say the same, and the link
    # works the moment the message lands. (A retry after nothing got through sets it
    # afresh; one after a channel did keeps it.)
    # To the whole minute, as the email states it: the batches of one minute then say
    # the same expiry, and share one frame (EmailBatch.send_email).
    for invitation in ready:
        if not _got_through(invitation):
            invitation.expires_at = (now + timedelta(days=invitation.client.clinic.expiry_days)).replace(
                second=0, microsecond=0)
    # Each attempt starts only if no other run of its claim holds it (a task delivered
    # twice). The attempt count comes back from the UPDATE rather than being one more
    # than we read: a second delivery may have made an attempt in between.
    started = dict(
        _update_returning(
            _claimed_by(ready).filter(Q(attempt_started_at__isnull=True) | Q(lease_until__lt=now)),
            ["id", "attempts"],
            attempts=F("attempts") + 1,
            attempt_started_at=now,
            lease_until=now + timedelta(seconds=settings.SURVEY_ATTEMPT_LEASE_SECONDS),
            expires_at=_per_row({invitation.id: invitation.expires_at for invitation in ready}, "expires_at"),
        )
    )
    batch = [invitation for invitation in ready if invitation.id in started]
    for invitation in batch:
        invitation.attempts = started[invitation.id]
        invitation.errors, invitation.retry = [], False

    sends = _store_links(batch)
    audit = []
    broken = None
    with EmailBatch() as mailer:
        for invitation, channel, token in sends:
            if channel == Channel.EMAIL and broken is not None:
                # The connection failed, not one message: the rest of the batch's emails
                # would wait out the same timeout each. They retry with backoff.
                failure = broken
            else:
                failure = _send_on(channel, invitation, token, mailer=mailer, audit=audit)
            if failure is None:
                continue
            if channel == Channel.EMAIL and failure[2]:
                broken = failure
            error, permanent, _ = failure
            log.warning(
                "outbox.send_failed invitation=%s channel=%s attempt=%s error=%s",
                invitation.id, channel, invitation.attempts, error,
            )
            invitation.errors.append(error)
            invitation.retry = invitation.retry or not permanent
    if audit:
        audit_record_many(audit)

    done = []
    for invitation in batch:
        if invitation.retry and invitation.attempts < invitation.client.clinic.max_send_attempts:
            delay = retry_delay(invitation.attempts)
            # Release the attempt, and keep the claim for the backoff plus the usual
            # grace so a sweep does not take it back while the retry waits.
            _mine(invitation.id, invitation.claim_id).update(
                last_error="; ".join(invitation.errors)[:300], attempt_started_at=None,
                lease_until=timezone.now() + timedelta(seconds=delay + settings.SURVEY_STALE_SENDING_SECONDS),
            )
            outcomes[invitation.id] = Outcome("retry", retry_in=delay)
        elif invitation.errors or not _got_through(invitation):
            outcomes[invitation.id] = _finish(invitation, _mine(invitation.id, invitation.claim_id), errors=invitation.errors)
        else:
            done.append(invitation)
    if done:
        # The common case, every channel through at the first try: one UPDATE for all.
        _claimed_by(done).update(status=Status.SENT, sent_at=FIRST_SENT, last_error="", attempt_started_at=None,
                                 lease_until=None)
        outcomes.update(dict.fromkeys((invitation.id for invitation in done), Outcome("sent")))
    return outcomes


def _store_links(batch):
    """Mint a link for each row and channel still to send, and store the digests, one
    UPDATE per channel, only where the client has not stopped that channel meanwhile.
    Returns the (invitation, channel, token) to send, in the batch's order."""
    sends = []
    for channel, columns in CHANNEL_COLUMNS.items():
        wanted = [invitation for invitation in batch if channel in invitation.pending]
        if not wanted:
            continue
        tokens = {invitation.id: new_token() for invitation in wanted}
        stored = {
            row[0]
            for row in _update_returning(
                _claimed_by(wanted).filter(**{columns.not_stopped: True}),
                ["id"],
                **{columns.token: _per_row({i: digest for i, (_, digest) in tokens.items()}, columns.token)},
            )
        }
        sends += [(invitation, channel, tokens[invitation.id][0]) for invitation in wanted if invitation.id in stored]
    order = {invitation.id: n for n, invitation in enumerate(batch)}
    return sorted(sends, key=lambda send: order[send[0].id])


def _per_row(values, field):
    """An UPDATE's value for `field` that differs by row, {id: value}, the others kept:
    `CASE id WHEN … THEN … ELSE field END`, written as SQL because resolving a batch's
    worth of When() expressions cost the ORM ten times what the UPDATE costs the
    database."""
    q = connection.ops.quote_name
    model_field = SurveyInvitation._meta.get_field(field)
    params = []
    for invitation_id, value in values.items():
        params += [invitation_id, model_field.get_db_prep_value(value, connection)]
    if not values:
        return F(field)
    return RawSQL(f"CASE {q('id')}{' WHEN %s THEN %s' * len(values)} ELSE {q(model_field.column)} END", params,
                  output_field=model_field)


# When the check-in went out: the first of its channels' sent times (PostgreSQL's
# LEAST skips NULLs; SQLite's MIN does not, hence the fallbacks).
FIRST_SENT = Coalesce("sent_at", Least(*(c.sent for c in CHANNEL_COLUMNS.values())),
                      *(c.sent for c in CHANNEL_COLUMNS.values()))


def _send_on(channel, invitation, token, *, mailer, audit):
    """Send the check-in on one channel. Returns None when it got through (or was
    stopped on its way by an opt-out), else (error, permanent, whether the connection
    itself failed rather than the server refusing this one message)."""
    clinic = invitation.client.clinic
    columns = CHANNEL_COLUMNS[channel]
    marked = []

    def mark_sent(**extra):
        # Runs the moment the server has accepted the message (for email, before the
        # next message and before QUIT): nothing but this UPDATE lies between acceptance
        # and the commit. See the module docstring for what a crash right here costs.
        sent_at = timezone.now()
        names = sorted(extra)
        name, sql = _mark_sent_sql(channel, names)
        with connection.cursor() as cursor:
            prepared.execute(cursor, name, sql, [sent_at, *(extra[n] for n in names), invitation.id, Status.SENDING,
                                                 invitation.claim_id])
            done = cursor.rowcount
        if done:
            setattr(invitation, columns.sent, sent_at)
            audit.append(dict(
                action="invitation.sent", obj=invitation, clinic=clinic,
                detail={"session_id": invitation.session_id, "attempts": invitation.attempts, "channel": channel},
            ))
        marked.append(done)

    try:
        _deliver(channel, invitation, token, name="checkin", on_accepted=mark_sent, mailer=mailer)
    except TRANSIENT as exc:
        if marked:
            # Accepted and recorded; only closing the connection failed.
            return None
        refused = isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, SmsError))
        return _short_error(exc), _is_permanent(exc), not refused
    if not marked[0]:
        # Cancelled by an opt-out, or answered in the session, while on its way.
        log.warning("outbox.sent_but_not_marked invitation=%s channel=%s", invitation.id, channel)
    return None


def _finish(invitation, mine, *, errors):
    """End the claim: `sent` if any channel got through (keeping the others' errors for
    the client page), else `failed`."""
    error = "; ".join(e for e in errors if e)[:300]
    if _got_through(invitation):
        mine.update(status=Status.SENT, sent_at=FIRST_SENT, last_error=error, attempt_started_at=None,
                    lease_until=None)
        return Outcome("sent")
    return _fail(invitation, mine, error or "no channel got through")


def _fail(invitation, mine, error):
    with transaction.atomic():
        # Nothing got through: no link is out there to expire.
        if mine.update(status=Status.FAILED, last_error=error[:300], attempt_started_at=None, lease_until=None,
                       expires_at=None):
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
                # Unanswered from now on, on the dashboard of the day it was due.
                figures_stale(clinic=invitation.client.clinic, instants=[invitation.due_at])
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
    # It leaves the day it was due (where it counted as unanswered) for today.
    figures_stale(clinic=client.clinic, instants=[invitation.due_at, now])
    audit_record(
        action="invitation.resend", actor=by, obj=invitation, clinic=client.clinic,
        detail={"session_id": invitation.session_id},
    )
    # An expired invitation no longer counts towards "no feedback".
    flags_recompute_for_client(client=client)
    return True
