"""Flags: the alerts that say a relationship needs attention.

`flags_recompute_for_client` is the single place flags are raised and cleared. It is
called whenever a check-in, a session or an invitation of the client changes state, and
it is idempotent: run twice on the same data, the second run changes nothing. Each rule
reads the clinic's thresholds (accounts.Clinic); the defaults are conventions borrowed
from comparable 0–40 scales, not validated norms.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from sessions.models import Session


@dataclass(frozen=True)
class Finding:
    kind: str
    session_id: int | None
    detail: str


# Kinds whose finding is tied to one session: a new occurrence on a later session,
# after the therapist acknowledged the earlier one, is a new flag.
SESSION_BOUND = {Flag.Kind.LOW_ALLIANCE, Flag.Kind.DROP, Flag.Kind.DISCREPANCY}


def _client_checkins(client, limit):
    """The client's most recent client-rated check-ins, newest first, ordered by the
    session they rate (not by when they were answered, which can be out of order)."""
    return list(
        CheckIn.objects.filter(client=client, source=CheckIn.Source.CLIENT)
        .select_related("session")
        .order_by("-session__scheduled_start", "-session_id")[:limit]
    )


def evaluate(client, clinic):
    """Return the findings that hold for this client now, one per kind at most."""
    findings = []
    depth = max(clinic.declining_run, 2)
    recent = _client_checkins(client, depth)

    if recent:
        latest = recent[0]
        low_dims = [
            f for f in ("trust", "empathy", "boundaries", "collaboration")
            if getattr(latest, f) < clinic.low_dimension_below
        ]
        if latest.total < clinic.low_total_below or low_dims:
            detail = f"total {latest.total}/40"
            if low_dims:
                detail += "; below " + str(clinic.low_dimension_below) + ": " + ", ".join(low_dims)
            findings.append(Finding(Flag.Kind.LOW_ALLIANCE, latest.session_id, detail))

    if len(recent) >= 2:
        latest, previous = recent[0], recent[1]
        fall = previous.total - latest.total
        if fall >= clinic.drop_points:
            findings.append(Finding(Flag.Kind.DROP, latest.session_id, f"fell {fall} points ({previous.total} → {latest.total})"))

    run = recent[: clinic.declining_run]
    if len(run) == clinic.declining_run and all(run[i].total < run[i + 1].total for i in range(len(run) - 1)):
        totals = " → ".join(str(c.total) for c in reversed(run))
        findings.append(Finding(Flag.Kind.DECLINING, run[0].session_id, f"{len(run)} falling totals: {totals}"))

    if recent:
        latest = recent[0]
        therapist = CheckIn.objects.filter(session_id=latest.session_id, source=CheckIn.Source.THERAPIST).first()
        if therapist and therapist.total - latest.total >= clinic.discrepancy_points:
            findings.append(
                Finding(
                    Flag.Kind.DISCREPANCY, latest.session_id,
                    f"therapist {therapist.total} vs client {latest.total}",
                )
            )

    finished = list(
        SurveyInvitation.objects.filter(
            client=client, status__in=[SurveyInvitation.Status.ANSWERED, SurveyInvitation.Status.EXPIRED]
        )
        .order_by("-due_at", "-id")
        .values_list("status", "session_id")[: clinic.no_feedback_expired]
    )
    if len(finished) == clinic.no_feedback_expired and all(s == SurveyInvitation.Status.EXPIRED for s, _ in finished):
        findings.append(
            Finding(Flag.Kind.NO_FEEDBACK, finished[0][1], f"last {len(finished)} check-ins expired unanswered")
        )

    window = list(
        Session.objects.filter(client=client, scheduled_start__lte=timezone.now())
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
    does. Returns (raised, resolved) lists of Flag objects."""
    now = now or timezone.now()
    # Serialise recomputes of one client (two check-ins saved at once) on PostgreSQL.
    type(client).objects.select_for_update().filter(pk=client.pk).first()
    findings = {f.kind: f for f in evaluate(client, client.clinic)}
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
            flag.save(update_fields=["resolved_at"])
            resolved.append(flag)

    still_open = {f.kind for f in open_flags.values() if f.resolved_at is None}
    for kind, finding in findings.items():
        if kind in still_open:
            flag = open_flags[kind]
            if flag.detail != finding.detail or flag.session_id != finding.session_id:
                flag.detail, flag.session_id = finding.detail, finding.session_id
                flag.save(update_fields=["detail", "session"])
            continue
        raised.append(
            Flag.objects.create(
                client=client, kind=kind, session_id=finding.session_id, detail=finding.detail,
                severity=Flag.SEVERITY[kind], raised_at=now,
            )
        )
    return raised, resolved
