"""Reads for the clinic admin's dashboards: per-therapist figures, the clinic over time,
breakdowns by modality and relationship approach, and one therapist's caseload.

Every figure is an aggregate computed in the database (Count/Avg/Sum with filter=,
grouped with values()), so each page costs a fixed number of queries whatever the
number of therapists, clients and sessions. Nothing here touches session notes or
check-in comments: only scores, counts and dates.

Definitions, shown on the page too:

- attendance rate: attended / (attended + no-shows + late cancellations) among the
  sessions scheduled in the period (cancellations with notice are left out);
- response rate: answered / (answered + expired + sent and past expiry), among the
  invitations due in the period; invitations still waiting for an answer, failed or
  cancelled ones are left out;
- mean client total: the mean of client-rated check-in totals (0–40) for sessions in
  the period.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import BooleanField, Case, Count, IntegerField, Min, Q, Sum, Value, When
from django.db.models.functions import TruncMonth, TruncWeek
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts.models import User
from clients.models import Client
from sessions.models import Session

from alliance.models import Channel, CheckIn, Flag, SurveyInvitation

DEFAULT_DAYS = 182
HISTOGRAM_BUCKETS = [(0, 15), (16, 19), (20, 23), (24, 27), (28, 31), (32, 35), (36, 40)]


PERIOD_LABELS = {"week": pgettext_lazy("dashboard period", "week"), "month": pgettext_lazy("dashboard period", "month")}


@dataclass
class Filters:
    """What the admin asked for, already validated (see clinic.dashboards.forms)."""

    clinic: object
    date_from: date
    date_to: date
    therapist_id: int | None = None
    modality: str = ""
    period: str = "week"

    @property
    def period_label(self):
        """The period as a word in the page's language ("week", "semana")."""
        return PERIOD_LABELS.get(self.period, self.period)

    @property
    def start(self):
        return timezone.make_aware(datetime.combine(self.date_from, time.min), self.clinic.tzinfo)

    @property
    def end(self):
        """Exclusive: midnight after date_to, in the clinic's time zone."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min), self.clinic.tzinfo)

    def querystring(self):
        from django.http import QueryDict

        q = QueryDict(mutable=True)
        q["date_from"], q["date_to"], q["period"] = self.date_from.isoformat(), self.date_to.isoformat(), self.period
        if self.therapist_id:
            q["therapist"] = str(self.therapist_id)
        if self.modality:
            q["modality"] = self.modality
        return q.urlencode()


def default_range(clinic, today=None):
    today = today or timezone.localdate(timezone=clinic.tzinfo)
    return today - timedelta(days=DEFAULT_DAYS), today


def _rate(numerator, denominator):
    return None if not denominator else numerator / denominator


@dataclass
class TherapistRow:
    id: int
    name: str
    is_active: bool
    caseload: int = 0
    sessions_30d: int = 0
    attended: int = 0
    missed: int = 0
    answered: int = 0
    unanswered: int = 0
    checkins: int = 0
    total_sum: int = 0
    flagged_clients: int = 0
    oldest_unacknowledged: datetime | None = None

    @property
    def attendance_rate(self):
        return _rate(self.attended, self.attended + self.missed)

    @property
    def response_rate(self):
        return _rate(self.answered, self.answered + self.unanswered)

    @property
    def mean_total(self):
        return _rate(self.total_sum, self.checkins)

    @property
    def flagged_share(self):
        return _rate(self.flagged_clients, self.caseload)

    def oldest_unacknowledged_days(self, now):
        if self.oldest_unacknowledged is None:
            return None
        return (now - self.oldest_unacknowledged).days


@dataclass
class PeriodRow:
    start: date
    checkins: int = 0
    total_sum: int = 0
    answered: int = 0
    unanswered: int = 0
    flags_raised: int = 0
    flags_resolved: int = 0

    @property
    def mean_total(self):
        return _rate(self.total_sum, self.checkins)

    @property
    def response_rate(self):
        return _rate(self.answered, self.answered + self.unanswered)


@dataclass
class GroupRow:
    key: str
    label: str
    checkins: int = 0
    total_sum: int = 0
    low: int = 0

    @property
    def mean_total(self):
        return _rate(self.total_sum, self.checkins)

    @property
    def low_share(self):
        return _rate(self.low, self.checkins)


@dataclass
class ChannelRow:
    """Response rate of one channel: check-ins with a known outcome that went out on it
    (or were started on it in the session), and how many were answered through it. A
    check-in sent by email and text and answered by text counts as offered on both."""

    key: str
    label: str
    offered: int = 0
    answered: int = 0

    @property
    def response_rate(self):
        return _rate(self.answered, self.offered)


# How an invitation "went out on" each channel, as a condition on the sessions query.
CHANNEL_OFFERED = {
    Channel.EMAIL: Q(invitation__email_sent_at__isnull=False),
    Channel.SMS: Q(invitation__sms_sent_at__isnull=False),
    Channel.IN_SESSION_PHONE: Q(invitation__in_session_channel=Channel.IN_SESSION_PHONE),
    Channel.IN_SESSION_DEVICE: Q(invitation__in_session_channel=Channel.IN_SESSION_DEVICE),
}


@dataclass
class Dashboard:
    filters: Filters
    now: datetime
    therapists: list = field(default_factory=list)
    therapist_choices: list = field(default_factory=list)
    periods: list = field(default_factory=list)
    by_modality: list = field(default_factory=list)
    by_approach: list = field(default_factory=list)
    histogram: list = field(default_factory=list)
    by_channel: list = field(default_factory=list)
    totals: TherapistRow | None = None
    # The page of the therapist table shown (django.core.paginator.Page); None when
    # every therapist is listed (exports, the raw-rows reference).
    page: object = None


def _period_start(d, period):
    if period == "month":
        return d.replace(day=1)
    return d - timedelta(days=d.weekday())


def _next_period(d, period):
    if period == "month":
        return (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return d + timedelta(days=7)


def _as_date(value, tz):
    if value is None:
        return None
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(tz)
        return value.date()
    return value


def therapists_in_clinic(clinic):
    return User.objects.filter(clinic=clinic, role=User.Role.THERAPIST)


def clinic_dashboard_from_raw_rows(filters, now=None):
    """Everything the clinic dashboard shows, recomputed from the raw sessions,
    invitations, check-ins and flags in four grouped queries. The page reads the
    maintained figures instead (`clinic_dashboard`); this is the reference they are
    proven equal to (tests/clinic/dashboards/test_figures_property.py), and what the
    benchmark compares against. Every therapist on one list, unpaginated."""
    now = now or timezone.now()
    clinic, tz = filters.clinic, filters.clinic.tzinfo
    # "Now", to the day: the figures about the recent past count clinic-local days, so
    # that figures stored per day can equal them (clinic/dashboards/figures.py).
    today = timezone.localdate(now, tz)
    end_of_today = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min), tz)
    trunc = TruncMonth if filters.period == "month" else TruncWeek
    start, end = filters.start, filters.end
    dash = Dashboard(filters=filters, now=now)

    client_q = Q(client__clinic=clinic)
    if filters.modality:
        client_q &= Q(client__modality=filters.modality)
    session_therapist_q = Q(session__therapist_id=filters.therapist_id) if filters.therapist_id else Q()

    # 1. Therapists, with their current caseload and open flags (not date-bound: these
    # describe now). Distinct counts, because the flags join repeats each client.
    active = Q(clients__status=Client.Status.ACTIVE)
    if filters.modality:
        active &= Q(clients__modality=filters.modality)
    # "flags__id is not null" matters: through the LEFT JOIN a client with no flag at all
    # has a NULL resolved_at too.
    open_flag = active & Q(clients__flags__id__isnull=False, clients__flags__resolved_at__isnull=True)
    therapist_rows = (
        therapists_in_clinic(clinic)
        .annotate(
            caseload=Count("clients", filter=active, distinct=True),
            flagged=Count("clients", filter=open_flag, distinct=True),
            oldest=Min("clients__flags__raised_at", filter=open_flag & Q(clients__flags__acknowledged_at__isnull=True)),
        )
        .order_by("full_name", "id")
        .values("id", "full_name", "email", "is_active", "caseload", "flagged", "oldest")
    )
    rows, known = {}, {}
    for r in therapist_rows:
        dash.therapist_choices.append((r["id"], r["full_name"] or r["email"]))
        known[r["id"]] = (r["full_name"] or r["email"], r["is_active"])
        if filters.therapist_id and r["id"] != filters.therapist_id:
            continue
        if not r["is_active"] and not r["caseload"]:
            continue
        rows[r["id"]] = TherapistRow(
            id=r["id"], name=r["full_name"] or r["email"], is_active=r["is_active"], caseload=r["caseload"],
            flagged_clients=r["flagged"], oldest_unacknowledged=r["oldest"],
        )

    def row_for(therapist_id):
        # Sessions held by a therapist with no caseload now (deactivated, clients moved
        # on) still count for the clinic, on their own row.
        if therapist_id not in rows:
            name, is_active = known.get(therapist_id, ("(former staff)", False))
            rows[therapist_id] = TherapistRow(id=therapist_id, name=name, is_active=is_active)
        return rows[therapist_id]

    periods = {}
    p = _period_start(filters.date_from, filters.period)
    while p <= filters.date_to:
        periods[p] = PeriodRow(start=p)
        p = _next_period(p, filters.period)

    def period_for(value):
        d = _period_start(_as_date(value, tz), filters.period)
        return periods.setdefault(d, PeriodRow(start=d))

    # 2. Sessions and their invitations (one-to-one, so the join repeats nothing), per
    # therapist and per period the invitation was due: sessions held in the last 30
    # days, attendance in the period, and invitations with a known outcome due in the
    # period.
    S = SurveyInvitation.Status
    since_30 = timezone.make_aware(datetime.combine(today - timedelta(days=29), time.min), tz)
    last_30 = Q(scheduled_start__gte=since_30, scheduled_start__lt=end_of_today)
    in_period = Q(scheduled_start__gte=start, scheduled_start__lt=min(end, end_of_today))
    due_in_period = Q(invitation__due_at__gte=start, invitation__due_at__lt=end)
    answered = due_in_period & Q(invitation__status=S.ANSWERED)
    # Unanswered once the outbox has marked it expired (it does every minute).
    unanswered = due_in_period & Q(invitation__status=S.EXPIRED)
    sessions = (
        Session.objects.filter(client_q)
        .filter(Q(therapist_id=filters.therapist_id) if filters.therapist_id else Q())
        .filter(in_period | last_30 | due_in_period)
        .annotate(period=trunc("invitation__due_at", tzinfo=tz))
        .values("therapist_id", "period")
        .annotate(
            last30=Count("id", filter=last_30 & Q(attendance=Session.Attendance.ATTENDED)),
            attended=Count("id", filter=in_period & Q(attendance=Session.Attendance.ATTENDED)),
            missed=Count("id", filter=in_period & Q(attendance__in=Session.MISSED)),
            answered=Count("id", filter=answered),
            unanswered=Count("id", filter=unanswered),
            # Response by channel, in the same grouped query.
            **{f"offered_{c}": Count("id", filter=(answered | unanswered) & q) for c, q in CHANNEL_OFFERED.items()},
            **{f"answered_{c}": Count("id", filter=answered & Q(invitation__answered_channel=c)) for c in CHANNEL_OFFERED},
        )
        .order_by()
    )
    channels = {c: ChannelRow(c, Channel(c).label) for c in CHANNEL_OFFERED}
    for r in sessions:
        for c, row in channels.items():
            row.offered += r[f"offered_{c}"]
            row.answered += r[f"answered_{c}"]
        row = row_for(r["therapist_id"])
        row.sessions_30d += r["last30"]
        row.attended += r["attended"]
        row.missed += r["missed"]
        if r["answered"] or r["unanswered"]:
            # Only then is the invitation's period inside the range.
            row.answered += r["answered"]
            row.unanswered += r["unanswered"]
            pr = period_for(r["period"])
            pr.answered += r["answered"]
            pr.unanswered += r["unanswered"]

    # 3. Client-rated totals per therapist × period × modality × approach, with the
    # histogram buckets as conditional counts: the per-therapist means, the clinic over
    # time, both breakdowns and the distribution all come from this one grouped query
    # (at most therapists × periods × 12 rows).
    low_below = clinic.low_total_below
    modality = {k: GroupRow(k, label) for k, label in Client.Modality.choices}
    approach = {k: GroupRow(k, label) for k, label in Client.Approach.choices}
    buckets = [[f"{lo}–{hi}", 0] for lo, hi in HISTOGRAM_BUCKETS]
    bucket_counts = {
        f"b{i}": Count("id", filter=Q(total__gte=lo, total__lte=hi)) for i, (lo, hi) in enumerate(HISTOGRAM_BUCKETS)
    }
    checkins = (
        CheckIn.objects.filter(client_q, session_therapist_q, source=CheckIn.Source.CLIENT,
                               session__scheduled_start__gte=start, session__scheduled_start__lt=end)
        .annotate(period=trunc("session__scheduled_start", tzinfo=tz))
        .values("session__therapist_id", "period", "client__modality", "client__relationship_approach")
        .annotate(n=Count("id"), total_sum=Sum("total"), low=Count("id", filter=Q(total__lt=low_below)), **bucket_counts)
        .order_by()
    )
    for r in checkins:
        row = row_for(r["session__therapist_id"])
        row.checkins += r["n"]
        row.total_sum += r["total_sum"]
        pr = period_for(r["period"])
        pr.checkins += r["n"]
        pr.total_sum += r["total_sum"]
        for group in (modality.get(r["client__modality"]), approach.get(r["client__relationship_approach"])):
            if group is not None:
                group.checkins += r["n"]
                group.total_sum += r["total_sum"]
                group.low += r["low"]
        for i in range(len(HISTOGRAM_BUCKETS)):
            buckets[i][1] += r[f"b{i}"]
    dash.by_modality = list(modality.values())
    dash.by_approach = list(approach.values())
    dash.histogram = buckets

    # 4. Flags raised and resolved per period (by the client's current therapist).
    raised_in = Q(raised_at__gte=start, raised_at__lt=end)
    resolved_in = Q(resolved_at__gte=start, resolved_at__lt=end)
    flag_q = client_q & (Q(client__therapist_id=filters.therapist_id) if filters.therapist_id else Q())
    flags = (
        Flag.objects.filter(flag_q)
        .filter(raised_in | resolved_in)
        .annotate(
            raised_period=trunc("raised_at", tzinfo=tz),
            resolved_period=trunc("resolved_at", tzinfo=tz),
            raised_inside=Case(When(raised_in, then=Value(1)), default=Value(0), output_field=IntegerField()),
            resolved_inside=Case(When(resolved_in, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .values("raised_period", "resolved_period", "raised_inside", "resolved_inside")
        .annotate(n=Count("id"))
        .order_by()
    )
    for r in flags:
        if r["raised_inside"]:
            period_for(r["raised_period"]).flags_raised += r["n"]
        if r["resolved_inside"]:
            period_for(r["resolved_period"]).flags_resolved += r["n"]
    dash.periods = [periods[k] for k in sorted(periods)]
    dash.by_channel = list(channels.values())

    dash.therapists = sorted(rows.values(), key=lambda r: (not r.is_active, r.name.lower(), r.id))
    total = TherapistRow(id=0, name="Clinic", is_active=True)
    for r in dash.therapists:
        for attr in ("caseload", "sessions_30d", "attended", "missed", "answered", "unanswered", "checkins",
                     "total_sum", "flagged_clients"):
            setattr(total, attr, getattr(total, attr) + getattr(r, attr))
        if r.oldest_unacknowledged and (total.oldest_unacknowledged is None
                                        or r.oldest_unacknowledged < total.oldest_unacknowledged):
            total.oldest_unacknowledged = r.oldest_unacknowledged
    dash.totals = total
    return dash


THERAPISTS_PER_PAGE = 25


def _current_state(users, active):
    """Caseload, clients with an open flag and the oldest unacknowledged flag, per
    therapist of `users` (these describe now, so they are live queries). Distinct
    counts, because the flags join repeats each client."""
    # "flags__id is not null" matters: through the LEFT JOIN a client with no flag at all
    # has a NULL resolved_at too.
    open_flag = active & Q(clients__flags__id__isnull=False, clients__flags__resolved_at__isnull=True)
    return {
        r["id"]: r for r in users.annotate(
            caseload=Count("clients", filter=active, distinct=True),
            flagged=Count("clients", filter=open_flag, distinct=True),
            oldest=Min("clients__flags__raised_at", filter=open_flag & Q(clients__flags__acknowledged_at__isnull=True)),
        ).order_by().values("id", "caseload", "flagged", "oldest")
    }


def clinic_dashboard(filters, now=None, page=1, all_therapists=False):
    """Everything the clinic dashboard shows, read from the figures maintained per
    clinic-local day (clinic/models.py, clinic/dashboards/figures.py), and the current
    caseload and flags of the therapists on one page of the table. A fixed number of
    queries, and none of them reads more rows for a bigger clinic except the list of
    its therapists: the clinic-wide figures come from a table with no therapist in its
    key. `all_therapists` lists every therapist (the CSV export) instead of a page."""
    from django.core.paginator import Paginator
    from django.db.models import Exists, OuterRef

    from clinic.models import ClinicDayFigures, TherapistDayFigures

    now = now or timezone.now()
    clinic, tz = filters.clinic, filters.clinic.tzinfo
    today = timezone.localdate(now, tz)
    first_30 = today - timedelta(days=29)
    held_to = min(filters.date_to, today)
    dash = Dashboard(filters=filters, now=now)

    figures = TherapistDayFigures.objects.filter(clinic=clinic)
    if filters.modality:
        figures = figures.filter(modality=filters.modality)
    in_range = Q(day__gte=filters.date_from, day__lte=filters.date_to)
    held = Q(day__gte=filters.date_from, day__lte=held_to)
    last_30 = Q(day__gte=first_30, day__lte=today)

    # 1. The therapists, and which of them the table lists: the active ones, and a
    # former one while they keep a caseload or have figures in the period.
    active = Q(clients__status=Client.Status.ACTIVE)
    client_active = Q(status=Client.Status.ACTIVE)
    if filters.modality:
        active &= Q(clients__modality=filters.modality)
        client_active &= Q(modality=filters.modality)
    mine = figures.filter(therapist_id=OuterRef("id"))
    users = therapists_in_clinic(clinic)
    listed = []
    # Only a former therapist's row is looked up (CASE evaluates its branch lazily), so
    # the query costs one index probe per inactive therapist, not a scan of the figures.
    former_listed = Exists(Client.objects.filter(client_active, therapist=OuterRef("id"))) | Exists(mine.filter(
        (held | last_30) & Q(sessions__gt=0) | in_range & (Q(due__gt=0) | Q(checkins__gt=0))
    ))
    for r in users.annotate(
        listed=Case(When(is_active=True, then=Value(True)), default=former_listed, output_field=BooleanField()),
    ).order_by("full_name", "id").values("id", "full_name", "email", "is_active", "listed"):
        name = r["full_name"] or r["email"]
        dash.therapist_choices.append((r["id"], name))
        if filters.therapist_id and r["id"] != filters.therapist_id:
            continue
        if r["listed"]:
            listed.append(TherapistRow(id=r["id"], name=name, is_active=r["is_active"]))
    listed.sort(key=lambda r: (not r.is_active, r.name.lower(), r.id))
    if all_therapists:
        shown = listed
    else:
        dash.page = Paginator(listed, THERAPISTS_PER_PAGE).get_page(page)
        shown = list(dash.page.object_list)
    by_id = {r.id: r for r in shown}

    # 2. Their caseload and open flags, now, and 3. their figures of the period, both
    # for the listed therapists of this page only.
    page_users = users if all_therapists else users.filter(id__in=list(by_id))
    page_figures = figures if all_therapists else figures.filter(therapist_id__in=list(by_id))
    if by_id:
        for tid, r in _current_state(page_users, active).items():
            if tid in by_id:
                row = by_id[tid]
                row.caseload, row.flagged_clients, row.oldest_unacknowledged = r["caseload"], r["flagged"], r["oldest"]
        for r in (
            page_figures.filter(in_range | last_30).values("therapist_id").annotate(
                sessions_30d=Sum("attended", filter=last_30), attended=Sum("attended", filter=held),
                missed=Sum("missed", filter=held), answered=Sum("answered", filter=in_range),
                unanswered=Sum("expired", filter=in_range), checkins=Sum("checkins", filter=in_range),
                total_sum=Sum("total_sum", filter=in_range),
            ).order_by()
        ):
            row = by_id.get(r.pop("therapist_id"))
            if row is not None:
                for name, value in r.items():
                    setattr(row, name, value or 0)
    dash.therapists = shown

    # 4. The clinic over time and the clinic's totals: per day, from the clinic's
    # figures (or the one therapist's, when filtered).
    if filters.therapist_id:
        source = figures.filter(therapist_id=filters.therapist_id)
    else:
        source = ClinicDayFigures.objects.filter(clinic=clinic)
        if filters.modality:
            source = source.filter(modality=filters.modality)
    periods = {}
    p = _period_start(filters.date_from, filters.period)
    while p <= filters.date_to:
        periods[p] = PeriodRow(start=p)
        p = _next_period(p, filters.period)
    total = TherapistRow(id=0, name="Clinic", is_active=True)
    per_day = ("attended", "missed", "checkins", "total_sum", "answered", "expired", "flags_raised", "flags_resolved")
    for r in source.filter(in_range | last_30).values("day").annotate(**{n: Sum(n) for n in per_day}).order_by():
        d = r["day"]
        if first_30 <= d <= today:
            total.sessions_30d += r["attended"]
        if not filters.date_from <= d <= filters.date_to:
            continue
        if d <= held_to:
            total.attended += r["attended"]
            total.missed += r["missed"]
        total.checkins += r["checkins"]
        total.total_sum += r["total_sum"]
        total.answered += r["answered"]
        total.unanswered += r["expired"]
        pr = periods[_period_start(d, filters.period)]
        pr.checkins += r["checkins"]
        pr.total_sum += r["total_sum"]
        pr.answered += r["answered"]
        pr.unanswered += r["expired"]
        pr.flags_raised += r["flags_raised"]
        pr.flags_resolved += r["flags_resolved"]
    dash.periods = [periods[k] for k in sorted(periods)]

    # 5. Breakdowns, distribution and channels: per modality × approach.
    modality = {k: GroupRow(k, label) for k, label in Client.Modality.choices}
    approach = {k: GroupRow(k, label) for k, label in Client.Approach.choices}
    buckets = [[f"{lo}–{hi}", 0] for lo, hi in HISTOGRAM_BUCKETS]
    channels = {c: ChannelRow(c, Channel(c).label) for c in CHANNEL_OFFERED}
    sums = ("checkins", "total_sum", "low", *(f"b{i}" for i in range(len(HISTOGRAM_BUCKETS))),
            *(f"offered_{c}" for c in channels), *(f"answered_{c}" for c in channels))
    for r in source.filter(in_range).values("modality", "approach").annotate(**{n: Sum(n) for n in sums}).order_by():
        for group in (modality.get(r["modality"]), approach.get(r["approach"])):
            if group is not None:
                group.checkins += r["checkins"]
                group.total_sum += r["total_sum"]
                group.low += r["low"]
        for i in range(len(HISTOGRAM_BUCKETS)):
            buckets[i][1] += r[f"b{i}"]
        for c, row in channels.items():
            row.offered += r[f"offered_{c}"]
            row.answered += r[f"answered_{c}"]
    dash.by_modality, dash.by_approach = list(modality.values()), list(approach.values())
    dash.histogram, dash.by_channel = buckets, list(channels.values())

    # 6. The totals row is the whole clinic, whatever the page: its caseload and open
    # flags now, in one query (or the sum of the rows, when every row is here).
    if filters.therapist_id or all_therapists:
        # Every listed therapist is in `shown`: their sum is the clinic's.
        total.caseload = sum(r.caseload for r in shown)
        total.flagged_clients = sum(r.flagged_clients for r in shown)
        total.oldest_unacknowledged = min((r.oldest_unacknowledged for r in shown if r.oldest_unacknowledged),
                                          default=None)
    else:
        from clinic.models import TherapistCaseload

        # Kept per therapist and modality as clients and flags change (a few rows per
        # therapist), rather than joining every client with every flag.
        caseloads = TherapistCaseload.objects.filter(clinic=clinic)
        if filters.modality:
            caseloads = caseloads.filter(modality=filters.modality)
        agg = caseloads.aggregate(caseload=Sum("caseload"), flagged=Sum("flagged"), oldest=Min("oldest_unacknowledged"))
        agg["caseload"] = agg["caseload"] or 0
        total.caseload, total.flagged_clients, total.oldest_unacknowledged = agg["caseload"], agg["flagged"] or 0, agg["oldest"]
    dash.totals = total
    return dash


def therapist_in_clinic_or_404(clinic_id, pk):
    """A therapist of this clinic (active or not); any other id answers 404."""
    return get_object_or_404(
        User.objects.filter(clinic_id=clinic_id, role=User.Role.THERAPIST).select_related("clinic"), pk=pk
    )


@dataclass
class CaseloadRow:
    id: int
    name: str
    status: str
    modality: str
    approach: str
    latest_total: int | None = None
    checkins: int = 0
    total_sum: int = 0
    attended: int = 0
    missed: int = 0
    answered: int = 0
    unanswered: int = 0
    open_flags: list = field(default_factory=list)

    @property
    def mean_total(self):
        return _rate(self.total_sum, self.checkins)

    @property
    def attendance_rate(self):
        return _rate(self.attended, self.attended + self.missed)

    @property
    def response_rate(self):
        return _rate(self.answered, self.answered + self.unanswered)


def therapist_caseload(filters, therapist, now=None):
    """One therapist's current clients with scores, attendance, response and open flags
    for the period. Three queries. Never touches notes or comments."""
    from django.db.models import OuterRef, Subquery

    now = now or timezone.now()
    start, end = filters.start, filters.end
    clients_qs = Client.objects.filter(clinic=filters.clinic, therapist=therapist)
    if filters.modality:
        clients_qs = clients_qs.filter(modality=filters.modality)
    latest = (
        CheckIn.objects.filter(client=OuterRef("pk"), source=CheckIn.Source.CLIENT)
        .order_by("-session__scheduled_start", "-session_id")
        .values("total")[:1]
    )
    # Open flags as one conditional count per kind, in the same query as the clients.
    kinds = sorted(Flag.Kind, key=lambda k: -Flag.SEVERITY[k])
    open_counts = {
        f"open_{k.value}": Count("flags", filter=Q(flags__kind=k, flags__resolved_at__isnull=True)) for k in kinds
    }
    rows = {}
    for c in clients_qs.annotate(latest_total=Subquery(latest), **open_counts).order_by(
        "status", "display_name", "id"
    ).values("id", "display_name", "status", "modality", "relationship_approach", "latest_total", *open_counts):
        rows[c["id"]] = CaseloadRow(
            id=c["id"], name=c["display_name"], status=Client.Status(c["status"]).label,
            modality=Client.Modality(c["modality"]).label, approach=Client.Approach(c["relationship_approach"]).label,
            latest_total=c["latest_total"], open_flags=[k.label for k in kinds if c[f"open_{k.value}"]],
        )
    # The same client filter as a join condition, not an IN list of ids, so the SQL
    # stays the same size whatever the caseload.
    mine = Q(client__clinic=filters.clinic, client__therapist=therapist)
    if filters.modality:
        mine &= Q(client__modality=filters.modality)
    in_period = Q(session__scheduled_start__gte=start, session__scheduled_start__lt=end)
    for r in (
        CheckIn.objects.filter(mine, in_period, source=CheckIn.Source.CLIENT)
        .values("client_id").annotate(n=Count("id"), total_sum=Sum("total")).order_by()
    ):
        rows[r["client_id"]].checkins, rows[r["client_id"]].total_sum = r["n"], r["total_sum"]
    # Sessions with their (one-to-one) invitations: attendance in the period and
    # invitations due in the period, in one grouped query.
    S = SurveyInvitation.Status
    in_period = Q(scheduled_start__gte=start, scheduled_start__lt=end, scheduled_start__lte=now)
    due_in_period = Q(invitation__due_at__gte=start, invitation__due_at__lt=end)
    for r in (
        Session.objects.filter(mine)
        .filter(in_period | due_in_period)
        .values("client_id")
        .annotate(
            attended=Count("id", filter=in_period & Q(attendance=Session.Attendance.ATTENDED)),
            missed=Count("id", filter=in_period & Q(attendance__in=Session.MISSED)),
            answered=Count("id", filter=due_in_period & Q(invitation__status=S.ANSWERED)),
            unanswered=Count("id", filter=due_in_period & (
                Q(invitation__status=S.EXPIRED) | Q(invitation__status=S.SENT, invitation__expires_at__lte=now)
            )),
        )
        .order_by()
    ):
        row = rows[r["client_id"]]
        row.attended, row.missed, row.answered, row.unanswered = r["attended"], r["missed"], r["answered"], r["unanswered"]
    return list(rows.values())
