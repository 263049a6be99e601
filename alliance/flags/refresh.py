"""A client's flags brought up to date after their answer, outside the answer's request.

The client's POST is the hot path: its one statement writes the answer marked
`flags_pending` (alliance/checkins/services.py) and publishes nothing. The mark is the
hand-off: `flags_refresh_pending`, run by beat every FLAG_REFRESH_SECONDS (2), finds
the clients whose answers carry it, recomputes their flags and clears the marks it saw.
The answer's audit row ("checkin.submitted") is written here too, once, in the
transaction that clears its mark. So the therapist sees a new flag a few seconds after
the answer (a test with a real worker and beat holds it to five), the client's request
does no broker round trip and writes two rows, not three, and nothing is lost: a crash anywhere after the answer committed leaves the mark, and the
next sweep finds it. Answers arriving together share the work: one sweep takes every
client then marked, each once, however many answers they sent.

One sweep runs at a time (a PostgreSQL advisory lock, released with its connection if
the worker dies); a sweep that found a full batch queues itself again at once.
"""

from contextlib import contextmanager

from django.db import connection, transaction

from alliance.flags.rules import flags_recompute_for_client
from alliance.models import CheckIn
from audit.models import AuditEvent
from webhooks.services import webhook_events_for_checkins
from clinic.dashboards.figures import figures_stale


# The one-client task (alliance/flags/tasks.py), kept for messages an older release
# queued (answers no longer queue it; the sweep does the work).
REFRESH_TASK = "alliance.flags.tasks.refresh_client_flags"


def flags_refresh(client_id):
    """Recompute the client's flags if an answer is waiting for it; clear the marks of
    the answers it took into account. Returns how many marks it cleared (0: another
    task was first, or the client was erased meanwhile)."""
    from clients.models import Client

    with transaction.atomic():
        # Read before the recompute evaluates: an answer committed after this read
        # keeps its mark and its own task (or the sweep) recomputes again.
        pending = list(CheckIn.objects.filter(client_id=client_id, flags_pending=True).order_by().values_list("pk", flat=True))
        if not pending:
            return 0
        # "Check-in received" is written here, after the answer committed, rather than
        # in the answer's own transaction (the client's POST stays minimal); before the
        # recompute, so a receiver gets the check-in before the flags it raises. The
        # task and the stale sweep may both get here: the event's key makes it once.
        webhook_events_for_checkins(client_id=client_id, checkin_ids=pending)
        # The answers' check-ins and invitations count on the dashboard too: their
        # days are marked here, not in the answer's POST (pinned at four statements);
        # before the recompute, whose caseload refresh takes the clinic's lock, as every
        # other write marks its days before it takes that lock (a single order, so no
        # deadlock with a client edit marking the same days).
        days = CheckIn.objects.filter(pk__in=pending).values_list(
            "client__clinic_id", "session__scheduled_start", "session__invitation__due_at")
        by_clinic = {}
        for clinic_id, start, due in days:
            by_clinic.setdefault(clinic_id, []).extend([start, due])
        for clinic_id, instants in by_clinic.items():
            figures_stale(clinic=clinic_id, instants=instants)
        try:
            flags_recompute_for_client(client=Client(pk=client_id))
        except Client.DoesNotExist:
            return 0
        # The marks still set are this run's to clear (the client's lock, taken by the
        # recompute, keeps a second run out until this one commits, and its read then
        # finds them cleared), and with them it writes the answers' audit rows: once
        # each, in the transaction that clears the mark.
        cleared = list(
            CheckIn.objects.select_for_update(of=("self",)).filter(pk__in=pending, flags_pending=True)
            .values_list("pk", "client__clinic_id", "session_id", "session__invitation__id", "channel", "submitted_at")
        )
        if not cleared:
            return 0
        CheckIn.objects.filter(pk__in=[row[0] for row in cleared]).update(flags_pending=False)
        # Answers stored before the audit row moved here have theirs already.
        audited = set(AuditEvent.objects.filter(
            action="checkin.submitted", object_type=CheckIn._meta.model_name,
            object_id__in=[str(row[0]) for row in cleared],
        ).values_list("object_id", flat=True))
        _audit_answers([row for row in cleared if str(row[0]) not in audited])
        return len(cleared)


def _audit_answers(cleared):
    """The "checkin.submitted" rows of these answers, dated when they were given.
    Actor None: the client has no account. No IP either: clients are not staff, and the
    trail needs to know that a check-in arrived, not from where."""
    AuditEvent.objects.bulk_create([
        AuditEvent(
            clinic_id=clinic_id, actor=None, action="checkin.submitted", object_type=CheckIn._meta.model_name,
            object_id=str(pk), at=submitted_at, ip=None,
            detail={"session_id": session_id, "invitation_id": invitation_id, "channel": channel},
        )
        for pk, clinic_id, session_id, invitation_id, channel, submitted_at in cleared
    ])


# Any 64-bit number of our own: the advisory lock that keeps sweeps from overlapping.
SWEEP_LOCK = 0x52415050_464C4147  # "RAPPFLAG"


def flags_refresh_pending(*, limit=500):
    """Recompute the flags of every client with an answer still marked `flags_pending`,
    at most `limit` clients, oldest answers first. Returns the ids of the clients whose
    marks it cleared; None when another sweep is running."""
    with _sweep_lock() as mine:
        if not mine:
            return None
        client_ids = list(
            CheckIn.objects.filter(flags_pending=True)
            .order_by("client_id").values_list("client_id", flat=True).distinct()[:limit]
        )
        return [client_id for client_id in client_ids if flags_refresh(client_id)]


@contextmanager
def _sweep_lock():
    """Whether this sweep holds the lock: a session-level advisory lock on PostgreSQL
    (it goes with the connection if the worker dies); elsewhere (SQLite serialises its
    writers) always granted."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SWEEP_LOCK])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SWEEP_LOCK])
