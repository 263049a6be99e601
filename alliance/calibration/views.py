"""A therapist's own practice page: how their ratings track their clients' (calibration)
and which repairs recovered the alliance in their own caseload. Scores only."""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from accounts.access import therapist_required
from alliance.flags.selectors import what_works

from .selectors import AGREEMENT_POINTS, MIN_PAIRS_FOR_R, calibration, past_year


@therapist_required
@require_safe
def my_practice(request):
    user = request.user
    start, end = past_year()
    mine = calibration(clinic=user.clinic, start=start, end=end, therapists=[user]).get(user.id)
    return render(request, "alliance/practice.html", {
        "calibration": mine, "works": what_works(clinic=user.clinic, start=start, end=end, therapist=user),
        "agreement_points": AGREEMENT_POINTS, "min_pairs": MIN_PAIRS_FOR_R,
        "discrepancy_points": user.clinic.discrepancy_points,
    })
