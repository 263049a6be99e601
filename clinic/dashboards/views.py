"""The clinic admin's dashboards. Scores and counts only: no view here reads a session
note or a check-in comment."""

from django.shortcuts import render

from accounts.access import clinic_admin_required
from alliance.calibration.selectors import AGREEMENT_POINTS, MIN_PAIRS_FOR_R, calibration, past_year
from alliance.charts import TOTAL_MAX, value_axis
from alliance.flags.selectors import what_works

from .forms import DashboardFilterForm
from .selectors import clinic_dashboard as build_dashboard
from .selectors import therapist_caseload, therapist_in_clinic_or_404, therapists_in_clinic


def therapist_choices(clinic):
    return [(pk, name or email) for pk, name, email in
            therapists_in_clinic(clinic).order_by("full_name", "id").values_list("id", "full_name", "email")]


def filter_form(request, clinic=None):
    """The filter form for this clinic. The therapist is checked against the clinic's
    list by the caller (`form.check_therapist`), or here when the form is invalid
    anyway, so the page's usual path costs no extra query."""
    clinic = clinic or request.user.clinic
    form = DashboardFilterForm(request.GET, clinic=clinic)
    if not form.is_valid():
        form.therapist_choices = therapist_choices(clinic)
    return form


def _pct(value):
    return None if value is None else round(100 * value, 1)


def _mean(value):
    return None if value is None else round(value, 1)


def chart_data(dash):
    """The figures the charts draw, for json_script. The same numbers are in the tables.
    The axes of mean totals fit the figures and the clinic's low-alliance threshold
    (alliance/charts.py); the two breakdowns share one, so their bars compare."""
    threshold = dash.filters.clinic.low_total_below
    over_time = [_mean(p.mean_total) for p in dash.periods]
    groups = [_mean(g.mean_total) for g in (*dash.by_modality, *dash.by_approach)]
    return {
        "threshold": threshold,
        "axes": {
            "overTime": value_axis(over_time, top=TOTAL_MAX, marks=[threshold]),
            "groups": value_axis(groups, top=TOTAL_MAX, marks=[threshold]),
        },
        "overTime": {
            "labels": [p.start.isoformat() for p in dash.periods],
            "meanTotal": over_time,
            "responseRate": [_pct(p.response_rate) for p in dash.periods],
            "flagsRaised": [p.flags_raised for p in dash.periods],
            "flagsResolved": [p.flags_resolved for p in dash.periods],
        },
        "histogram": {"labels": [b[0] for b in dash.histogram], "counts": [b[1] for b in dash.histogram]},
        "modality": {"labels": [g.label for g in dash.by_modality], "meanTotal": [_mean(g.mean_total) for g in dash.by_modality]},
        "approach": {"labels": [g.label for g in dash.by_approach], "meanTotal": [_mean(g.mean_total) for g in dash.by_approach]},
    }


@clinic_admin_required
def clinic_dashboard(request):
    form = filter_form(request)
    if not form.is_valid():
        return render(request, "clinic/dashboards/clinic_dashboard.html", {"form": form}, status=400)
    dash = build_dashboard(form.filters(), page=request.GET.get("page") or 1)
    if not form.check_therapist(dash.therapist_choices):
        return render(request, "clinic/dashboards/clinic_dashboard.html", {"form": form}, status=400)
    return render(request, "clinic/dashboards/clinic_dashboard.html", {
        "form": form, "dash": dash, "filters": dash.filters, "charts": chart_data(dash),
        "query": dash.filters.querystring(),
    })


@clinic_admin_required
def clinic_therapist(request, pk):
    therapist = therapist_in_clinic_or_404(request.user.clinic_id, pk)
    form = filter_form(request, clinic=therapist.clinic)
    if not form.is_valid():
        return render(request, "clinic/dashboards/therapist.html", {"form": form, "therapist": therapist}, status=400)
    filters = form.filters()
    rows = therapist_caseload(filters, therapist)
    filters.therapist_id = therapist.id  # so the export link carries this therapist
    return render(request, "clinic/dashboards/therapist.html", {
        "form": form, "therapist": therapist, "rows": rows, "filters": filters, "query": filters.querystring(),
    })


@clinic_admin_required
def clinic_repair(request):
    """What works here (recovery after flags, by kind and strategy) and every
    therapist's calibration, for the past year. Scores and counts only, in a fixed
    number of queries (tests/clinic/dashboards/test_repair_page.py)."""
    clinic = request.user.clinic
    start, end = past_year()
    figures = calibration(clinic=clinic, start=start, end=end)
    clinic_row = figures.pop(None)
    therapists = sorted(figures.values(), key=lambda r: (r.name.lower(), r.therapist_id))
    for row in therapists:
        row.overall.label = row.name
    return render(request, "clinic/dashboards/repair.html", {
        "works": what_works(clinic=clinic, start=start, end=end),
        "clinic_calibration": clinic_row,
        "therapists": therapists, "therapists_overall": [r.overall for r in therapists],
        "agreement_points": AGREEMENT_POINTS, "min_pairs": MIN_PAIRS_FOR_R,
        "discrepancy_points": clinic.discrepancy_points,
    })
