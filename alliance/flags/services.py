"""Writes on flags made by people (the rules themselves live in alliance.flags.rules),
and the recompute of a clinic's flags after its thresholds change, which a Celery task
runs (alliance/flags/tasks.py) while the settings page shows its progress."""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record

from alliance.flags.guidance import options_for
from alliance.flags.rules import flags_recompute_for_client
from alliance.models import Flag, FlagRecompute, FlagStrategy, RepairNote, RepairStrategy

log = logging.getLogger(__name__)

NOTE_MAX = RepairNote.MAX_LENGTH


@transaction.atomic
def flag_acknowledge(*, flag, by, strategies, note="", request=None):
    """Record what the client's therapist did about an open flag: one or more repair
    strategies among those the flag's kind offers (alliance.flags.guidance), and
    optionally their own words, kept as privately as a session note (RepairNote).

    The flag stays open until its condition clears (acknowledging is not resolving);
    the "needs attention" list shows it as acknowledged meanwhile. Only the client's
    own therapist may acknowledge: a clinic admin or supervisor sees flags but does not
    act on them.
    """
    note = (note or "").strip()
    offered = {o.strategy for o in options_for(flag.kind)}
    strategies = list(dict.fromkeys(strategies or ()))
    if not strategies:
        raise ValidationError({"strategies": _("Choose at least one thing you did.")})
    if any(s not in offered for s in strategies):
        raise ValidationError({"strategies": _("Choose among the options shown for this flag.")})
    if strategies == [RepairStrategy.OTHER] and not note:
        raise ValidationError({"note": _("Say briefly what you did.")})
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("Keep it under %(max)s characters.") % {"max": NOTE_MAX}})
    if flag.client.therapist_id != by.id or not by.is_therapist:
        raise ValidationError(_("Only the client's therapist can acknowledge this flag."))
    now = timezone.now()
    # A conditional UPDATE, so a double submit or a concurrent recompute that resolved
    # the flag cannot overwrite an earlier response.
    updated = Flag.objects.filter(pk=flag.pk, acknowledged_at__isnull=True, resolved_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by, updated_at=now
    )
    if not updated:
        raise ValidationError(_("This flag was already acknowledged or has cleared meanwhile."))
    FlagStrategy.objects.bulk_create([FlagStrategy(flag=flag, strategy=s) for s in strategies])
    if note:
        RepairNote.objects.create(flag=flag, author=by, text=note)
    flag.refresh_from_db()
    # The clinic's "oldest unacknowledged flag" follows.
    from clinic.dashboards.figures import caseloads_refresh

    caseloads_refresh(clinic_id=by.clinic_id, therapist_ids=[by.id])
    audit_record(
        action="flag.acknowledge", actor=by, obj=flag, clinic=by.clinic, request=request,
        # The strategy codes, never the note: the audit trail holds no clinical text.
        detail={"kind": flag.kind, "client_id": flag.client_id, "strategies": strategies, "note": bool(note)},
    )
    return flag


# --- Recomputing a clinic's flags after a threshold change --------------------------------

# The task (alliance/flags/tasks.py) by name: tasks sit above the services they call, so
# this module queues it without importing it (as the outbox does its send tasks).
RECOMPUTE_TASK = "alliance.flags.tasks.recompute_clinic_flags"


def _enqueue_recompute(run_id):
    """A broker hiccup here loses nothing: the run's row stays unfinished and the
    sweep (flag_recomputes_resume_stale) sends it again."""
    try:
        current_app.send_task(RECOMPUTE_TASK, args=[run_id])
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("flags.recompute_enqueue_failed run=%s", run_id)


def flags_recompute_schedule(*, clinic, by=None, now=None):
    """Start recomputing every client's flags of the clinic, in the background. Call it
    in the transaction that saves the new thresholds: the run is written with them (and
    supersedes any run still going), and its task is queued once they are committed, so
    it always reads them. Returns the FlagRecompute row."""
    now = now or timezone.now()
    FlagRecompute.objects.filter(clinic=clinic, finished_at__isnull=True, superseded_at__isnull=True).update(
        superseded_at=now
    )
    from clients.models import Client

    snapshot = Client.objects.filter(clinic=clinic).aggregate(total=Count("id"), last=Max("id"))
    run = FlagRecompute.objects.create(
        clinic=clinic, requested_by=by, requested_at=now, total=snapshot["total"], last_client_id=snapshot["last"] or 0,
    )
    transaction.on_commit(lambda: _enqueue_recompute(run.pk))
    return run


def flags_recompute_run(*, run_id, batch=None):
    """Recompute the flags of the run's clients, batch by batch, in client id order,
    recording progress after each batch. Safe to run twice, late, or side by side: each
    batch is counted by one conditional UPDATE of the cursor, and whoever loses it (a
    duplicate, or a run superseded meanwhile) stops. Returns what happened:
    "finished", "superseded", "taken over" or "nothing to do"."""
    from clients.models import Client

    batch = batch or settings.FLAG_RECOMPUTE_BATCH
    while True:
        run = FlagRecompute.objects.filter(pk=run_id).first()
        if run is None or run.finished_at is not None:
            return "nothing to do"
        if run.superseded_at is not None:
            log.info("flags.recompute_superseded run=%s done=%s", run.pk, run.done)
            return "superseded"
        ids = list(
            Client.objects.filter(clinic_id=run.clinic_id, pk__gt=run.cursor, pk__lte=run.last_client_id)
            .order_by("pk").values_list("pk", flat=True)[:batch]
        )
        current = FlagRecompute.objects.filter(pk=run.pk, cursor=run.cursor, finished_at__isnull=True,
                                               superseded_at__isnull=True)
        now = timezone.now()
        if not ids:
            # Clients erased meanwhile leave the count short of the total: done is all.
            if current.update(finished_at=now, heartbeat_at=now, done=F("total")):
                log.info("flags.recompute_finished run=%s clients=%s", run.pk, run.total)
                return "finished"
            continue
        for client_id in ids:
            # It locks the client and reads the clinic's thresholds afresh.
            flags_recompute_for_client(client=Client(pk=client_id))
        if not current.update(cursor=ids[-1], done=F("done") + len(ids), heartbeat_at=now):
            run.refresh_from_db()
            if run.superseded_at is not None:
                log.info("flags.recompute_superseded run=%s done=%s", run.pk, run.done)
                return "superseded"
            return "taken over"


def flag_recomputes_resume_stale(*, now=None):
    """Send the task again for every run still going that has shown no progress for
    FLAG_RECOMPUTE_STALE_SECONDS: its message was lost, or its worker died. A run that
    was only slow is harmed by none of this (see flags_recompute_run). Returns the ids."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.FLAG_RECOMPUTE_STALE_SECONDS)
    ids = list(
        FlagRecompute.objects.filter(finished_at__isnull=True, superseded_at__isnull=True)
        .annotate(last_sign=Coalesce("heartbeat_at", "requested_at"))
        .filter(Q(last_sign__lt=stale)).values_list("pk", flat=True)
    )
    for run_id in ids:
        FlagRecompute.objects.filter(pk=run_id).update(heartbeat_at=now)
        _enqueue_recompute(run_id)
    if ids:
        log.info("flags.recompute_resumed count=%s", len(ids))
    return ids
