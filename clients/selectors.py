"""Reads of client records, scoped to who is asking."""

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.formats import date_format

from accounts.access import supervisees_of
from alliance.charts import DIMENSION_MAX, TOTAL_MAX, value_axis
from alliance.flags.selectors import flags_for_client_page
from alliance.models import SCORE_FIELDS, CheckIn, Flag, SurveyInvitation
from sessions.models import Session

from .models import Client

SPARKLINE_POINTS = 8


def clients_visible_to(user):
    """The clients a user may see at all: a therapist their own caseload, a clinic
    admin their whole clinic (scores only; notes are guarded separately), a supervisor
    their supervisees' clients (scores only too), anyone else nothing. Every client lookup in a view starts here, so a guessed id from another
    caseload or clinic answers 404 rather than 403 and reveals nothing."""
    if not user.is_authenticated or user.clinic_id is None:
        return Client.objects.none()
    qs = Client.objects.filter(clinic_id=user.clinic_id)
    if user.is_therapist:
        qs = qs.filter(therapist=user)
    elif user.is_supervisor:
        # A supervisor reads their supervisees' clients (accounts.access decides whose).
        qs = qs.filter(therapist__in=supervisees_of(user))
    elif not user.is_clinic_admin:
        return Client.objects.none()
    return qs


def client_for_user(user, pk):
    return get_object_or_404(clients_visible_to(user).select_related("therapist", "clinic"), pk=pk)


def _latest_total(source):
    return Subquery(
        CheckIn.objects.filter(client=OuterRef("pk"), source=source)
        .order_by("-session__scheduled_start", "-session_id")
        .values("total")[:1]
    )


def caseload_for_therapist(user, *, q="", modality="", needs_attention=False, status=Client.Status.ACTIVE, now=None):
    """A therapist's caseload with everything its page shows, in a fixed number of
    queries however many clients there are: one for the clients and their latest
    numbers (correlated subqueries), one for their open flags, one for the last
    check-ins of each (a windowed, sliced prefetch), plus the paginator's count."""
    now = now or timezone.now()
    open_flags = Flag.objects.filter(resolved_at__isnull=True)
    sessions = Session.objects.filter(client=OuterRef("pk"))
    qs = (
        clients_visible_to(user)
        .filter(therapist=user, status=status)
        .annotate(
            client_total=_latest_total(CheckIn.Source.CLIENT),
            therapist_total=_latest_total(CheckIn.Source.THERAPIST),
            # A booked session is not a session held (or missed) until its attendance is
            # recorded: the last session is the latest recorded one, the next the
            # soonest booked one, and a booked one whose time has passed asks for its
            # attendance.
            last_session_at=Subquery(
                sessions.filter(scheduled_start__lte=now).exclude(attendance=Session.Attendance.BOOKED)
                .order_by("-scheduled_start").values("scheduled_start")[:1]
            ),
            next_session_at=Subquery(
                sessions.filter(scheduled_start__gt=now, attendance=Session.Attendance.BOOKED)
                .order_by("scheduled_start").values("scheduled_start")[:1]
            ),
            needs_attendance=Exists(sessions.filter(scheduled_start__lte=now, attendance=Session.Attendance.BOOKED)),
            last_invitation_status=Subquery(
                SurveyInvitation.objects.filter(client=OuterRef("pk")).order_by("-due_at", "-id").values("status")[:1]
            ),
            needs_attention=Exists(open_flags.filter(client=OuterRef("pk"))),
        )
        .prefetch_related(
            Prefetch("flags", queryset=open_flags.order_by("-severity", "raised_at"), to_attr="open_flags"),
            Prefetch(
                "checkins",
                queryset=CheckIn.objects.filter(source=CheckIn.Source.CLIENT)
                .order_by("-session__scheduled_start", "-session_id")
                .only("id", "client_id", "total", "session_id")[:SPARKLINE_POINTS],
                to_attr="recent_checkins",
            ),
        )
        .order_by("display_name", "id")
    )
    if q:
        qs = qs.filter(display_name__icontains=q)
    if modality:
        qs = qs.filter(modality=modality)
    if needs_attention:
        qs = qs.filter(needs_attention=True)
    return qs


# The client page holds a fixed amount however long the history: a page of sessions,
# the latest rated sessions in the charts, the latest comments (issue 14: the page at
# 400 sessions costs about what it costs at 8).
SESSIONS_PER_PAGE = 10
CHART_POINTS = 52  # a year of weekly sessions
COMMENTS_SHOWN = 10


def client_record(client, *, page=1, viewer=None):
    """Everything the client page shows besides the client itself: a page of sessions
    (newest first) with both totals and the survey state, the latest CHART_POINTS rated
    sessions as chart series, the client's latest comments, every flag with its history,
    the next booked session and the booked ones waiting for their attendance."""
    def total(source):
        return Subquery(
            CheckIn.objects.filter(session=OuterRef("pk"), source=source).values("total")[:1]
        )

    all_sessions = Session.objects.filter(client=client)
    sessions = Paginator(
        all_sessions.select_related("invitation")
        .annotate(client_total=total(CheckIn.Source.CLIENT), therapist_total=total(CheckIn.Source.THERAPIST))
        .order_by("-scheduled_start", "-id"),
        SESSIONS_PER_PAGE,
    ).get_page(page)
    # Newest first, at most two per session (client and therapist); one more than that
    # says whether older history lies beyond what the charts show.
    limit = 2 * CHART_POINTS
    scored = ("total", *SCORE_FIELDS)
    # Plain values, not model instances: up to a year of points, both sides.
    latest = list(
        CheckIn.objects.filter(client=client)
        .order_by("-session__scheduled_start", "-session_id")
        .values("session_id", "source", "session__scheduled_start", *scored)[: limit + 1]
    )
    beyond = latest[limit] if len(latest) > limit else None
    # One point per rated session; a side that did not rate is a gap. The session the
    # slice cut through is left out rather than shown with one side missing.
    points = {}
    for c in latest[:limit]:
        if beyond is not None and c["session_id"] == beyond["session_id"]:
            continue
        point = points.setdefault(c["session_id"], {"date": c["session__scheduled_start"], "client": None, "therapist": None})
        point[c["source"]] = c
    rows = list(points.values())
    chart_truncated = beyond is not None or len(rows) > CHART_POINTS
    rows = rows[:CHART_POINTS]
    rows.reverse()  # oldest first, as the charts read

    def series(field):
        return {
            side: [r[side][field] if r[side] is not None else None for r in rows]
            for side in ("client", "therapist")
        }

    all_series = {"total": series("total"), **{f: series(f) for f in SCORE_FIELDS}}

    def values(*keys):
        return [v for k in keys for side in all_series[k].values() for v in side]

    clinic = client.clinic
    # The y axis fits the data and the clinic's low-alliance threshold (alliance/charts.py);
    # the four dimensions share one axis, so their charts compare at a glance.
    total_axis = value_axis(values("total"), top=TOTAL_MAX, marks=[clinic.low_total_below])
    dimension_axis = value_axis(values(*SCORE_FIELDS), top=DIMENSION_MAX, marks=[clinic.low_dimension_below])
    chart = {
        # Dates as the session table shows them ("27 Nov 2026"), not ISO.
        "labels": [date_format(timezone.localtime(r["date"], clinic.tzinfo), "j M Y") for r in rows],
        "series": all_series,
        "axes": {"total": total_axis, **{f: dimension_axis for f in SCORE_FIELDS}},
        "thresholds": {"total": clinic.low_total_below, **{f: clinic.low_dimension_below for f in SCORE_FIELDS}},
    }
    # An empty comment is stored empty (only text is encrypted), so the filter is exact.
    # One more than shown says whether there are older ones.
    comments = list(
        CheckIn.objects.filter(client=client, source=CheckIn.Source.CLIENT).exclude(comment="")
        .select_related("session").order_by("-session__scheduled_start", "-session_id")[:COMMENTS_SHOWN + 1]
    )
    comments_truncated = len(comments) > COMMENTS_SHOWN
    comments = comments[:COMMENTS_SHOWN]
    # Flags with their history and repair tracking, from the flags' own selector.
    flags = flags_for_client_page(client, viewer=viewer)
    # The soonest booked session still ahead, and the booked ones whose time has passed,
    # oldest first, waiting for their attendance. Bookings are the diary's next few
    # sessions, not the history, so reading them all stays small.
    now = timezone.now()
    booked = list(all_sessions.filter(attendance=Session.Attendance.BOOKED).order_by("scheduled_start", "id"))
    next_session = next((s for s in booked if s.scheduled_start > now), None)
    needs_attendance = [s for s in booked if s.needs_attendance(now)]
    return {
        "sessions": sessions, "chart": chart, "chart_rows": rows, "chart_truncated": chart_truncated,
        "comments": comments, "comments_truncated": comments_truncated, "flags": flags,
        "next_session": next_session, "needs_attendance": needs_attendance,
    }
