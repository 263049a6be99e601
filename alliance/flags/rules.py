"""Flags: the alerts that say a relationship needs attention.

`flags_recompute_for_client` is the single place flags are raised and cleared. It is
called whenever a check-in, a session or an invitation of the client changes state (and
by the background recompute after a clinic changes its thresholds, alliance/flags/
services.py, and by `manage.py recompute_flags`), and it is
idempotent: run twice on the same data, the second run changes nothing. A flag whose
condition no longer holds is resolved (resolved_at set), never deleted, so the history
of what was raised, acknowledged and resolved stays.

Each rule reads the clinic's thresholds (accounts.Clinic), reloaded on every recompute
so a settings change applies to the next recompute; the defaults are conventions
borrowed from comparable 0–40 scales, not validated norms.

The rules, with the default thresholds:

- low alliance: the latest client check-in totals < 36/40, or any of its dimensions < 7;
- drop: the latest client total is ≥ 3 below the client's previous client check-in;
- declining trend: see `_declining_run`;
- discrepancy: on the session of the latest client check-in, the therapist's own total
  exceeds the client's by ≥ 6;
- no feedback: the 2 most recent finished invitations (answered, or expired, or sent and
  past their expiry) both expired unanswered;
- attendance: ≥ 2 no-shows or late cancellations among the 5 most recent sessions that
  were scheduled to start by now (cancellations with notice count as scheduled sessions
  but not as missed ones; booked sessions, whose attendance is not recorded yet, do not
  count at all).

A discharged client's flags are all cleared: the relationship has ended and the
"needs attention" list is about current work.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alliance.models import SCORE_FIELDS, CheckIn, Flag, SurveyInvitation
from sessions.models import Session
from webhooks.services import webhook_events_for_flags


@dataclass(frozen=True)
class Finding:
    kind: str
    session_id: int | None
    detail: str


# Kinds whose finding is tied to one session's check-in: a new occurrence on a later
# session, after the therapist acknowledged the earlier one, is a new flag (the earlier
# one is resolved). The therapist's response then applies to what they saw, and the new
# evidence asks for attention again.
SESSION_BOUND = {Flag.Kind.LOW_ALLIANCE, Flag.Kind.DROP, Flag.Kind.DISCREPANCY, Flag.Kind.DECLINING}


def _client_checkins(client, limit):
    """The client's most recent client-rated check-ins, newest first, ordered by the
    session they rate (not by when they were answered, which can be out of order)."""
    return list(
        CheckIn.objects.filter(client=client, source=CheckIn.Source.CLIENT)
        .order_by("-session__scheduled_start", "-session_id")[:limit]
    )


def _declining_run(recent, run_length):
    """"Three client check-ins in a row, each lower than the last" is read as: the
    client's `run_length` (default 3) most recent client-rated check-ins, taken in
    session order, strictly decrease — each total is lower than the one before it,
    so the default needs two successive falls (e.g. 36 → 34 → 33). Equal totals break
    the run. "In a row" means consecutive *check-ins*: a session the client did not
    rate (missed, or invitation unanswered) is skipped, not a break, because there is
    no score to compare. Returns the run oldest first, or None."""
    run = recent[:run_length]
    if len(run) < run_length:
        return None
    if all(run[i].total < run[i + 1].total for i in range(len(run) - 1)):
        return list(reversed(run))
    return None


def evaluate(client, clinic, now=None):
    """Return the findings that hold for this client now, one per kind at most."""
    now = now or timezone.now()
    if client.status != client.Status.ACTIVE:
        return []
    findings = []
    recent = _client_checkins(client, max(clinic.declining_run, 2))

    if recent:
        latest = recent[0]
        low_dims = [f for f in SCORE_FIELDS if getattr(latest, f) < clinic.low_dimension_below]
        if latest.total < clinic.low_total_below or low_dims:
            detail = f"total {latest.total}/40"
            if low_dims:
                detail += f"; below {clinic.low_dimension_below}: " + ", ".join(low_dims)
            findings.append(Finding(Flag.Kind.LOW_ALLIANCE, latest.session_id, detail))

    if len(recent) >= 2:
        latest, previous = recent[0], recent[1]
        fall = previous.total - latest.total
        if fall >= clinic.drop_points:
            findings.append(
                Finding(Flag.Kind.DROP, latest.session_id, f"fell {fall} points ({previous.total} → {latest.total})")
            )

    run = _declining_run(recent, clinic.declining_run)
    if run:
        totals = " → ".join(str(c.total) for c in run)
        findings.append(Finding(Flag.Kind.DECLINING, run[-1].session_id, f"{len(run)} falling totals: {totals}"))

    if recent:
        latest = recent[0]
        therapist = CheckIn.objects.filter(session_id=latest.session_id, source=CheckIn.Source.THERAPIST).first()
        if therapist and therapist.total - latest.total >= clinic.discrepancy_points:
            findings.append(
                Finding(Flag.Kind.DISCREPANCY, latest.session_id, f"therapist {therapist.total} vs client {latest.total}")
            )

    # An invitation still marked "sent" after its expiry is unanswered all the same: the
    # expiry job may simply not have run yet. Failed and cancelled invitations never
    # reached the client, so they say nothing about whether the client answers.
    S = SurveyInvitation.Status
    finished = list(
        SurveyInvitation.objects.filter(client=client)
        .filter(Q(status__in=[S.ANSWERED, S.EXPIRED]) | Q(status=S.SENT, expires_at__lte=now))
        .order_by("-due_at", "-id")
        .values_list("status", "session_id")[: clinic.no_feedback_expired]
    )
    if len(finished) == clinic.no_feedback_expired and all(s != S.ANSWERED for s, _ in finished):
        findings.append(
            Finding(Flag.Kind.NO_FEEDBACK, finished[0][1], f"last {len(finished)} check-ins expired unanswered")
        )

    # A booked session whose time has passed is not counted until its attendance is
    # recorded: it is neither a session the client came to nor one they missed.
    window = list(
        Session.objects.filter(client=client, scheduled_start__lte=now)
        .exclude(attendance=Session.Attendance.BOOKED)
        .order_by("-scheduled_start", "-id")
        .values_list("attendance", "id")[: clinic.attendance_window]
    )
    missed = [sid for att, sid in window if att in Session.MISSED]
    if len(missed) >= clinic.attendance_missed:
        findings.append(
            Finding(Flag.Kind.ATTENDANCE, missed[0], f"{len(missed)} missed of the last {len(window)} sessions")
        )
    return findings


@transaction.atomic
def flags_recompute_for_client(*, client, now=None):
    """Raise flags whose condition holds and clear those whose condition no longer
    does. Returns (raised, resolved) lists of Flag objects.

    An open flag that is not yet acknowledged follows its condition (detail and session
    updated). Once acknowledged it keeps what the therapist saw; a new occurrence of a
    session-bound kind on a later session resolves it and raises a new flag.
    """
    from clients.models import Client

    now = now or timezone.now()
    # Serialise recomputes of one client (two check-ins saved at once) on PostgreSQL, and
    # read the clinic's thresholds fresh: the caller's client.clinic may be stale.
    client = Client.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=client.pk)
    findings = {f.kind: f for f in evaluate(client, client.clinic, now)}
    open_flags = {f.kind: f for f in Flag.objects.filter(client=client, resolved_at__isnull=True)}
    raised, resolved = [], []

    for kind, flag in open_flags.items():
        finding = findings.get(kind)
        new_occurrence = (
            finding is not None
            and kind in SESSION_BOUND
            and flag.acknowledged_at is not None
            and finding.session_id != flag.session_id
        )
        if finding is None or new_occurrence:
            flag.resolved_at = now
            flag.save(update_fields=["resolved_at", "updated_at"])
            resolved.append(flag)

    still_open = {f.kind for f in open_flags.values() if f.resolved_at is None}
    for kind, finding in findings.items():
        if kind in still_open:
            flag = open_flags[kind]
            if flag.acknowledged_at is None and (flag.detail != finding.detail or flag.session_id != finding.session_id):
                flag.detail, flag.session_id = finding.detail, finding.session_id
                flag.save(update_fields=["detail", "session", "updated_at"])
            continue
        raised.append(
            Flag.objects.create(
                client=client, kind=kind, session_id=finding.session_id, detail=finding.detail,
                severity=Flag.SEVERITY[kind], raised_at=now,
            )
        )
    # In this transaction: a flag change and its webhook events commit together, or
    # neither does (webhooks/services.py).
    webhook_events_for_flags(client=client, raised=raised, resolved=resolved, now=now)
    if raised or resolved:
        # Flags raised and resolved are counted per day on the clinic dashboard.
        from clinic.dashboards.figures import caseloads_refresh, figures_stale

        figures_stale(clinic=client.clinic, instants=[now])
        caseloads_refresh(clinic_id=client.clinic_id, therapist_ids=[client.therapist_id])
    return raised, resolved
