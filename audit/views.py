"""The clinic admin's view of the audit trail, and unlocking locked-out colleagues."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import clinic_admin_required
from accounts import two_factor
from accounts.lockout import locked_out_usernames, unlock_username
from accounts.models import User

from .forms import AuditFilterForm
from .selectors import audit_actions_for_clinic, audit_events_for_clinic
from .services import audit_record

PAGE_SIZE = 50


@clinic_admin_required
def audit_list(request):
    clinic = request.user.clinic
    staff = User.objects.filter(clinic=clinic).order_by("full_name")
    form = AuditFilterForm(request.GET or None, staff=staff, actions=audit_actions_for_clinic(clinic))
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_events_for_clinic(clinic, **{k: v for k, v in filters.items() if v not in (None, "")})
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    locked = sorted(locked_out_usernames(staff.values_list("email", flat=True)))
    return render(request, "audit/list.html", {
        "form": form, "page": page, "query": query.urlencode(), "locked": locked,
    })


@clinic_admin_required
def lockouts(request):
    clinic = request.user.clinic
    staff = {u.email: u for u in User.objects.filter(clinic=clinic, is_active=True).order_by("full_name")}
    locked = [staff[email] for email in sorted(locked_out_usernames(staff))]
    return render(request, "audit/lockouts.html", {"locked": locked, "staff": list(staff.values())})


@clinic_admin_required
@require_POST
def lockout_unlock(request, pk):
    colleague = get_object_or_404(User, pk=pk, clinic=request.user.clinic)
    unlock_username(colleague.email)
    audit_record(action="auth.unlock", obj=colleague, request=request)
    messages.success(request, f"{colleague.full_name or colleague.email} can log in again.")
    return redirect("audit_lockouts")


@clinic_admin_required
@require_POST
def two_factor_reset(request, pk):
    """A colleague lost their phone and their recovery codes: remove their authenticator,
    so they enrol a new one at their next login (their password is still needed)."""
    colleague = get_object_or_404(User, pk=pk, clinic=request.user.clinic)
    two_factor.two_factor_reset(user=colleague, by=request.user, request=request)
    messages.success(request, f"{colleague.full_name or colleague.email} will set up a new authenticator at their next login.")
    return redirect("audit_lockouts")
