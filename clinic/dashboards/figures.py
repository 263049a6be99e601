"""The clinic dashboard's figures, kept as the data changes (the tables are in
clinic/models.py; clinic/dashboards/selectors.py reads them).

How they stay equal to a recomputation from the raw rows:

- Every write that can change a figure marks the clinic-local days it touched
  (`figures_stale`, in the write's own transaction: one INSERT … ON CONFLICT DO
  NOTHING) and queues `refresh_clinic_figures` once it commits. The refresh
  (`figures_refresh_pending`) recomputes each marked day of the clinic from the raw
  sessions, invitations, check-ins and flags (DELETE + INSERT of that day's rows) and
  deletes the marks it took. A lost message, a broker that is down or a worker killed
  mid-refresh leaves the marks, and the beat's sweep (every minute) refreshes them.
- A client's answer is the exception: its POST is pinned at four statements, so it
  marks nothing; the after-commit flags refresh (alliance/flags/refresh.py), which has
  its own durable mark and sweep, marks the answer's days.
- A change of the clinic's time zone or low-alliance threshold changes every day (days
  are clinic-local; the "low" count depends on the threshold): the settings change
  marks the clinic for a full rebuild (`figures_rebuild_soon`).

Figures about "now" are defined so that a stored day can equal the recomputation: a
session counts as held in the last 30 days when its clinic-local day is one of the
last 30 (today included), and an invitation counts as unanswered once the outbox has
marked it expired (it does so every minute, and that marks its day stale).
"""

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from celery import current_app
from django.db import connection, transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Clinic
from alliance.models import Channel, CheckIn, Flag, SurveyInvitation
from clinic.models import COUNTS, ClinicDayFigures, StaleFigureDay, TherapistDayFigures
from sessions.models import Session

log = logging.getLogger(__name__)

HISTOGRAM_BUCKETS = [(0, 15), (16, 19), (20, 23), (24, 27), (28, 31), (32, 35), (36, 40)]
CHANNELS = {
    "email": Channel.EMAIL, "sms": Channel.SMS,
    "in_session_phone": Channel.IN_SESSION_PHONE, "in_session_device": Channel.IN_SESSION_DEVICE,
}
REFRESH_TASK = "clinic.dashboards.tasks.refresh_clinic_figures"
# A full rebuild is marked with this day: no real day is this early.
REBUILD = date(1, 1, 1)


def local_day(value, tz):
    return timezone.localtime(value, tz).date() if timezone.is_aware(value) else value.date()


def day_bounds(day, tz):
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    return start, timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)


# --- Marking ----------------------------------------------------------------------------


def figures_stale(*, clinic, instants=(), days=()):
    """Mark the clinic-local days of these instants (and these days) stale, in the
    caller's transaction, and refresh them once it commits. `clinic` is a Clinic or
    its id."""
    if not isinstance(clinic, Clinic):
        clinic = Clinic.objects.only("id", "timezone").get(pk=clinic)
    tz = clinic.tzinfo
    marked = {local_day(i, tz) for i in instants if i is not None} | set(days)
    if not marked:
        return
    StaleFigureDay.objects.bulk_create([StaleFigureDay(clinic_id=clinic.pk, day=d) for d in marked],
                                       ignore_conflicts=True)
    clinic_id = clinic.pk
    transaction.on_commit(lambda: figures_refresh_soon(clinic_id))


def figures_rebuild_soon(*, clinic):
    """Every day of the clinic is stale (its time zone or threshold changed)."""
    figures_stale(clinic=clinic, days=[REBUILD])


def figures_refresh_soon(clinic_id):
    """Queue the refresh. A broker hiccup loses nothing: the marks stay for the sweep."""
    try:
        current_app.send_task(REFRESH_TASK, args=[clinic_id])
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("figures.refresh_enqueue_failed clinic=%s", clinic_id)


def client_days(client):
    """Every instant a client's figures are counted on: to mark when the client moves,
    changes modality or approach, or is erased."""
    instants = list(Session.objects.filter(client=client).values_list("scheduled_start", flat=True))
    instants += SurveyInvitation.objects.filter(client=client).values_list("due_at", flat=True)
    for raised, resolved in Flag.objects.filter(client=client).values_list("raised_at", "resolved_at"):
        instants += [raised, resolved]
    return [i for i in instants if i is not None]


# --- Caseloads now ----------------------------------------------------------------------


# The advisory lock (two-key form: this namespace, the clinic's id) that serialises the
# clinic's caseload refreshes. Any 32-bit number of our own: "RCLD".
CASELOAD_LOCK = 0x52434C44


# No savepoint when nested: the lock is held to the caller's commit either way.
@transaction.atomic(savepoint=False)
def caseloads_refresh(*, clinic_id, therapist_ids):
    """Recompute these therapists' current caseload rows from the raw clients and
    flags, in the caller's transaction (one lock, one DELETE, one grouped SELECT, one
    INSERT).

    Two refreshes of one clinic at once (a flag raised while the settings change's
    rebuild runs, say) would each delete the rows, and the later INSERT would break the
    unique key, or write counts read before the other's flags committed. So on
    PostgreSQL each takes the clinic's transaction-level advisory lock first, held to
    its commit: the second waits, and its SELECT, a new statement, sees the first's
    rows. (SQLite serialises its writers by itself.)"""
    from clients.models import Client
    from clinic.models import TherapistCaseload

    therapist_ids = {t for t in therapist_ids if t is not None}
    if not therapist_ids:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CASELOAD_LOCK, clinic_id])
    TherapistCaseload.objects.filter(clinic_id=clinic_id, therapist_id__in=therapist_ids).delete()
    open_flag = Q(flags__id__isnull=False, flags__resolved_at__isnull=True)
    rows = (
        Client.objects.filter(clinic_id=clinic_id, therapist_id__in=therapist_ids, status=Client.Status.ACTIVE)
        .values("therapist_id", "modality")
        .annotate(caseload=Count("id", distinct=True), flagged=Count("id", filter=open_flag, distinct=True),
                  oldest=Min("flags__raised_at", filter=open_flag & Q(flags__acknowledged_at__isnull=True)))
        .order_by()
    )
    TherapistCaseload.objects.bulk_create([
        TherapistCaseload(clinic_id=clinic_id, therapist_id=r["therapist_id"], modality=r["modality"],
                          caseload=r["caseload"], flagged=r["flagged"], oldest_unacknowledged=r["oldest"])
        for r in rows
    ])


def caseloads_rebuild(clinic):
    from accounts.models import User

    caseloads_refresh(clinic_id=clinic.pk, therapist_ids=User.objects.filter(clinic=clinic).values_list("id", flat=True))


# --- Refreshing -------------------------------------------------------------------------


def figures_refresh_pending(clinic_id=None):
    """Recompute every marked day (of one clinic, or of all) and clear the marks taken.
    Marks are locked with SKIP LOCKED, so two workers never recompute the same day at
    once; a write committed during the refresh leaves a new mark. Returns the number
    of days refreshed."""
    clinic_ids = [clinic_id] if clinic_id else list(
        StaleFigureDay.objects.order_by().values_list("clinic_id", flat=True).distinct()
    )
    refreshed = 0
    for cid in clinic_ids:
        with transaction.atomic():
            marks = list(
                StaleFigureDay.objects.select_for_update(skip_locked=True).filter(clinic_id=cid)
                .values_list("pk", "day")
            )
            if not marks:
                continue
            clinic = Clinic.objects.filter(pk=cid).first()
            if clinic is not None:
                days = {d for _, d in marks}
                figures_recompute(clinic, None if REBUILD in days else days)
            StaleFigureDay.objects.filter(pk__in=[pk for pk, _ in marks]).delete()
            refreshed += len(marks)
    return refreshed


def figures_recompute(clinic, days=None):
    """Recompute the clinic's figures of these clinic-local days (all days: None) from
    the raw rows, replacing what was stored. All days go a month at a time, so a big
    clinic's rebuild holds one month of figures in memory, not years."""
    if days is None:
        TherapistDayFigures.objects.filter(clinic=clinic).delete()
        ClinicDayFigures.objects.filter(clinic=clinic).delete()
        first, last = _first_and_last_day(clinic)
        while first is not None and first <= last:
            chunk = [first + timedelta(days=n) for n in range(31) if first + timedelta(days=n) <= last]
            _replace_days(clinic, chunk)
            first = chunk[-1] + timedelta(days=1)
        # A rebuild is everything the dashboard keeps, the caseloads too.
        caseloads_rebuild(clinic)
        return
    _replace_days(clinic, sorted(days))


def _first_and_last_day(clinic):
    from django.db.models import Max, Min

    tz, instants = clinic.tzinfo, []
    for qs, field in ((Session.objects.filter(client__clinic=clinic), "scheduled_start"),
                      (SurveyInvitation.objects.filter(client__clinic=clinic), "due_at"),
                      (Flag.objects.filter(client__clinic=clinic), "raised_at"),
                      (Flag.objects.filter(client__clinic=clinic), "resolved_at")):
        bounds = qs.aggregate(lo=Min(field), hi=Max(field))
        instants += [v for v in bounds.values() if v is not None]
    if not instants:
        return None, None
    return local_day(min(instants), tz), local_day(max(instants), tz)


def _replace_days(clinic, days):
    computed = compute_day_figures(clinic, days)
    TherapistDayFigures.objects.filter(clinic=clinic, day__in=days).delete()
    ClinicDayFigures.objects.filter(clinic=clinic, day__in=days).delete()
    summed = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for (therapist_id, day, modality, approach), counts in computed.items():
        total = summed[(day, modality, approach)]
        for name in COUNTS:
            total[name] += counts[name]
    TherapistDayFigures.objects.bulk_create([
        TherapistDayFigures(clinic=clinic, therapist_id=t, day=d, modality=m, approach=a, **counts)
        for (t, d, m, a), counts in computed.items()
    ], batch_size=2000)
    ClinicDayFigures.objects.bulk_create([
        ClinicDayFigures(clinic=clinic, day=d, modality=m, approach=a, **counts)
        for (d, m, a), counts in summed.items()
    ], batch_size=2000)


def _in_days(field, days, tz):
    """Q for `field` falling on one of these clinic-local days (None: any day)."""
    if days is None:
        return Q()
    # Runs of consecutive days become one range each.
    runs, q = [], Q(pk__in=[])
    for day in sorted(days):
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    for first, last in runs:
        q |= Q(**{f"{field}__gte": day_bounds(first, tz)[0], f"{field}__lt": day_bounds(last, tz)[1]})
    return q


def compute_day_figures(clinic, days=None):
    """{(therapist_id, day, modality, approach): {count: n}} from the raw rows, for the
    clinic-local days given (None: all). Five grouped queries, one per date a figure
    is counted on."""
    tz = clinic.tzinfo
    S = SurveyInvitation.Status
    out = defaultdict(lambda: dict.fromkeys(COUNTS, 0))

    def add(rows, therapist, day):
        for r in rows:
            key = (r.pop(therapist), r.pop(day), r.pop("client__modality"), r.pop("client__relationship_approach"))
            counts = out[key]
            for name, value in r.items():
                counts[name] += value or 0

    dims = ("client__modality", "client__relationship_approach")
    add(
        Session.objects.filter(_in_days("scheduled_start", days, tz), client__clinic=clinic)
        .annotate(d=TruncDate("scheduled_start", tzinfo=tz))
        .values("therapist_id", "d", *dims)
        .annotate(
            sessions=Count("id"),
            attended=Count("id", filter=Q(attendance=Session.Attendance.ATTENDED)),
            missed=Count("id", filter=Q(attendance__in=Session.MISSED)),
        ).order_by(),
        "therapist_id", "d",
    )
    answered, expired = Q(status=S.ANSWERED), Q(status=S.EXPIRED)
    offered = {
        "email": Q(email_sent_at__isnull=False), "sms": Q(sms_sent_at__isnull=False),
        "in_session_phone": Q(in_session_channel=Channel.IN_SESSION_PHONE),
        "in_session_device": Q(in_session_channel=Channel.IN_SESSION_DEVICE),
    }
    add(
        SurveyInvitation.objects.filter(_in_days("due_at", days, tz), client__clinic=clinic)
        .annotate(d=TruncDate("due_at", tzinfo=tz))
        .values("session__therapist_id", "d", *dims)
        .annotate(
            due=Count("id"), answered=Count("id", filter=answered), expired=Count("id", filter=expired),
            **{f"offered_{c}": Count("id", filter=(answered | expired) & q) for c, q in offered.items()},
            **{f"answered_{c}": Count("id", filter=answered & Q(answered_channel=v)) for c, v in CHANNELS.items()},
        ).order_by(),
        "session__therapist_id", "d",
    )
    add(
        CheckIn.objects.filter(_in_days("session__scheduled_start", days, tz), client__clinic=clinic,
                               source=CheckIn.Source.CLIENT)
        .annotate(d=TruncDate("session__scheduled_start", tzinfo=tz))
        .values("session__therapist_id", "d", *dims)
        .annotate(
            checkins=Count("id"), total_sum=Sum("total"), low=Count("id", filter=Q(total__lt=clinic.low_total_below)),
            **{f"b{i}": Count("id", filter=Q(total__gte=lo, total__lte=hi)) for i, (lo, hi) in enumerate(HISTOGRAM_BUCKETS)},
        ).order_by(),
        "session__therapist_id", "d",
    )
    for field, name in (("raised_at", "flags_raised"), ("resolved_at", "flags_resolved")):
        add(
            Flag.objects.filter(_in_days(field, days, tz), client__clinic=clinic, **{f"{field}__isnull": False})
            .annotate(d=TruncDate(field, tzinfo=tz))
            .values("client__therapist_id", "d", *dims)
            .annotate(**{name: Count("id")}).order_by(),
            "client__therapist_id", "d",
        )
    return out
