"""A supervisor reads, never writes: scores, flags and calibration of their supervisees
(accounts.access.supervisees_of). No note and no comment is loaded by any view here,
and every page is written to the audit trail."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.access import supervisee_or_404, supervisees_of, supervisor_required
from alliance.calibration.selectors import AGREEMENT_POINTS, MIN_PAIRS_FOR_R, calibration, past_year
from alliance.flags.selectors import what_works
from audit.services import audit_record
from clinic.dashboards.selectors import Filters, therapist_caseload


@supervisor_required
@require_safe
def supervision_home(request):
    user = request.user
    therapists = list(supervisees_of(user).order_by("full_name", "id"))
    start, end = past_year()
    figures = calibration(clinic=user.clinic, start=start, end=end, therapists=therapists) if therapists else {}
    rows = [(t, figures.get(t.id)) for t in therapists]
    audit_record(action="supervision.list", actor=user, clinic=user.clinic, request=request,
                 detail={"therapists": [t.id for t in therapists]})
    return render(request, "supervision/home.html", {
        "rows": rows, "agreement_points": AGREEMENT_POINTS, "discrepancy_points": user.clinic.discrepancy_points,
    })


@supervisor_required
@require_safe
def supervision_therapist(request, pk):
    user = request.user
    therapist = supervisee_or_404(user, pk)
    start, end = past_year()
    filters = Filters(clinic=user.clinic, date_from=start.date(), date_to=end.date())
    audit_record(action="supervision.view", actor=user, obj=therapist, clinic=user.clinic, request=request,
                 detail={"therapist_id": therapist.id})
    return render(request, "supervision/therapist.html", {
        "therapist": therapist,
        "rows": therapist_caseload(filters, therapist),
        "calibration": calibration(clinic=user.clinic, start=start, end=end, therapists=[therapist]).get(therapist.id),
        "works": what_works(clinic=user.clinic, start=start, end=end, therapist=therapist),
        "agreement_points": AGREEMENT_POINTS, "min_pairs": MIN_PAIRS_FOR_R,
        "discrepancy_points": user.clinic.discrepancy_points,
    })
