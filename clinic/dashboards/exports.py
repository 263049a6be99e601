"""CSV exports of the dashboard tables, with the same filters as the page. Scores and
counts only: no notes, no comments, no email addresses."""

import csv

from django.http import Http404, HttpResponse, HttpResponseBadRequest

from accounts.access import clinic_admin_required
from audit.services import audit_record

from .selectors import clinic_dashboard, therapist_caseload, therapist_in_clinic_or_404
from .views import filter_form

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """Spreadsheets run a cell starting with = + - @ as a formula (CSV injection); a
    leading apostrophe makes it text. Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _rate(value):
    return None if value is None else round(value, 4)


def _therapists(dash):
    yield ["therapist", "active", "active_caseload", "sessions_held_last_30_days", "attendance_rate",
           "response_rate", "mean_client_total", "client_checkins", "share_clients_with_open_flags",
           "oldest_unacknowledged_flag_days"]
    for r in [*dash.therapists, dash.totals]:
        yield [r.name, "yes" if r.is_active else "no", r.caseload, r.sessions_30d, _rate(r.attendance_rate),
               _rate(r.response_rate), _rate(r.mean_total), r.checkins, _rate(r.flagged_share),
               r.oldest_unacknowledged_days(dash.now)]


def _over_time(dash):
    yield ["period_start", "mean_client_total", "client_checkins", "response_rate", "answered", "unanswered",
           "flags_raised", "flags_resolved"]
    for p in dash.periods:
        yield [p.start.isoformat(), _rate(p.mean_total), p.checkins, _rate(p.response_rate), p.answered,
               p.unanswered, p.flags_raised, p.flags_resolved]


def _groups(rows, name):
    yield [name, "client_checkins", "mean_client_total", "share_below_low_threshold"]
    for g in rows:
        yield [g.label, g.checkins, _rate(g.mean_total), _rate(g.low_share)]


def _distribution(dash):
    yield ["client_total", "checkins"]
    for label, count in dash.histogram:
        yield [label, count]


def _caseload(rows):
    yield ["client", "status", "modality", "relationship_approach", "latest_client_total", "mean_client_total",
           "client_checkins", "attendance_rate", "response_rate", "open_flags"]
    for r in rows:
        yield [r.name, r.status, r.modality, r.approach, r.latest_total, _rate(r.mean_total), r.checkins,
               _rate(r.attendance_rate), _rate(r.response_rate), "; ".join(str(f) for f in r.open_flags)]


TABLES = {
    "therapists": lambda dash: _therapists(dash),
    "over_time": lambda dash: _over_time(dash),
    "modality": lambda dash: _groups(dash.by_modality, "modality"),
    "approach": lambda dash: _groups(dash.by_approach, "relationship_approach"),
    "distribution": lambda dash: _distribution(dash),
}


@clinic_admin_required
def dashboard_export(request, table):
    if table not in TABLES and table != "caseload":
        raise Http404("No such table.")
    form = filter_form(request)
    if not form.is_valid():
        errors = "; ".join(e for errs in form.errors.values() for e in errs)
        return HttpResponseBadRequest(f"Invalid filters: {errors}", content_type="text/plain")
    filters = form.filters()
    if table == "caseload":
        if not filters.therapist_id:
            return HttpResponseBadRequest("Choose a therapist to export a caseload.", content_type="text/plain")
        therapist = therapist_in_clinic_or_404(request.user.clinic_id, filters.therapist_id)
        rows = _caseload(therapist_caseload(filters, therapist))
    else:
        # Every therapist, not one page of them.
        dash = clinic_dashboard(filters, all_therapists=True)
        if not form.check_therapist(dash.therapist_choices):
            return HttpResponseBadRequest(f"Invalid filters: {form.UNKNOWN_THERAPIST}", content_type="text/plain")
        rows = TABLES[table](dash)
    # Data leaving Rapport is recorded: which table, with which filters (no values).
    audit_record(action="dashboard.export", request=request, clinic=filters.clinic,
                 detail={"table": table, "filters": filters.querystring()})
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"rapport-{table}-{filters.date_from:%Y%m%d}-{filters.date_to:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return response
