"""A client's flags brought up to date after their answer, outside the answer's request.

The client's POST is the hot path: it writes the answer and marks it `flags_pending`
in one transaction, and queues `refresh_client_flags(client_id)` once that commits.
The task recomputes the client's flags and clears the marks it saw. Nothing is lost
between the two: a crash after the commit, a broker that refused the message or a
worker that died leaves the marks in place, and `flags_refresh_stale` (every minute,
from beat) repairs them.

Answers arriving together share the work: each queues a task (one id, nothing
clinical), the first clears every mark it saw, and the others find nothing to do after
one indexed SELECT.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alliance.flags.rules import flags_recompute_for_client
from alliance.models import CheckIn
from webhooks.services import webhook_events_for_checkins
from clinic.dashboards.figures import figures_stale

log = logging.getLogger(__name__)

# The task (alliance/flags/tasks.py) by name: tasks sit above the services they call.
REFRESH_TASK = "alliance.flags.tasks.refresh_client_flags"


def flags_refresh_soon(client_id):
    """Queue the recompute of this client's flags. Call it once the answer that marked
    them is committed (transaction.on_commit). A broker hiccup loses nothing: the mark
    stays and the sweep repairs it."""
    try:
        current_app.send_task(REFRESH_TASK, args=[client_id])
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("flags.refresh_enqueue_failed client=%s", client_id)


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
        try:
            flags_recompute_for_client(client=Client(pk=client_id))
        except Client.DoesNotExist:
            return 0
        # The answers' check-ins and invitations count on the dashboard too: their
        # days are marked here, not in the answer's POST (pinned at four statements).
        days = CheckIn.objects.filter(pk__in=pending).values_list(
            "client__clinic_id", "session__scheduled_start", "session__invitation__due_at")
        by_clinic = {}
        for clinic_id, start, due in days:
            by_clinic.setdefault(clinic_id, []).extend([start, due])
        for clinic_id, instants in by_clinic.items():
            figures_stale(clinic=clinic_id, instants=instants)
        return CheckIn.objects.filter(pk__in=pending, flags_pending=True).update(flags_pending=False)


def flags_refresh_stale(*, now=None, limit=500):
    """Recompute the flags of clients whose answer has waited longer than
    FLAG_REFRESH_GRACE_SECONDS (its task was lost, or is very late). Returns the client
    ids repaired."""
    now = now or timezone.now()
    before = now - timedelta(seconds=settings.FLAG_REFRESH_GRACE_SECONDS)
    client_ids = list(
        CheckIn.objects.filter(flags_pending=True, submitted_at__lte=before)
        .order_by("client_id").values_list("client_id", flat=True).distinct()[:limit]
    )
    repaired = [client_id for client_id in client_ids if flags_refresh(client_id)]
    if repaired:
        log.warning("flags.refresh_repaired clients=%s", len(repaired))
    return repaired
