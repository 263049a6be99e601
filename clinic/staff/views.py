"""The clinic's staff: invite, deactivate, reassign a caseload (clinic admins only:
therapists get 403; every object is looked up inside the admin's own clinic, so another
clinic's ids answer 404), and the invitation link a new member joins by."""

from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from clients.models import Client

from accounts import services
from accounts.access import clinic_admin_required
from accounts.models import Supervision, User
from accounts.tokens import staff_invite_token_generator

from .forms import ReassignForm, StaffInviteForm, SuperviseesForm


def _therapist_in_clinic(request, pk):
    return get_object_or_404(User.objects.filter(clinic_id=request.user.clinic_id, role=User.Role.THERAPIST), pk=pk)


def _staff_page(request, invite_form=None, status=200, supervisees_forms=None):
    staff = list(
        User.objects.filter(clinic_id=request.user.clinic_id)
        .annotate(caseload=Count("clients", filter=Q(clients__status=Client.Status.ACTIVE)))
        .order_by("-is_active", "role", "full_name", "id")
    )
    # Each supervisor with the form that says whom they supervise (two queries for all).
    assigned = {}
    for supervisor_id, therapist_id in Supervision.objects.filter(clinic_id=request.user.clinic_id).values_list(
        "supervisor_id", "therapist_id"
    ):
        assigned.setdefault(supervisor_id, []).append(therapist_id)
    supervisors = []
    for member in staff:
        if member.is_supervisor and member.is_active:
            form = (supervisees_forms or {}).get(member.pk) or SuperviseesForm(
                supervisor=member, initial={"therapists": assigned.get(member.pk, [])}, prefix=f"s{member.pk}",
            )
            supervisors.append((member, form))
    return render(request, "clinic/staff/staff.html", {
        "staff": staff, "invite_form": invite_form or StaffInviteForm(), "supervisors": supervisors,
    }, status=status)


@clinic_admin_required
def staff_list(request):
    return _staff_page(request)


@clinic_admin_required
@require_POST
def staff_invite(request):
    form = StaffInviteForm(request.POST)
    if form.is_valid():
        try:
            services.staff_invite(
                clinic=request.user.clinic, email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"], role=form.cleaned_data["role"], by=request.user,
                request=request,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"email": exc.messages}
            for name, messages_ in errors.items():
                form.add_error(name if name in form.fields else "email", messages_)
        else:
            # The same words whether or not the address already has an account at
            # another clinic (accounts.services.staff_invite says why).
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}. The link works once, for a limited time.")
            return redirect("clinic_staff")
    return _staff_page(request, invite_form=form, status=400)


@clinic_admin_required
@require_POST
def staff_deactivate(request, pk):
    user = get_object_or_404(User.objects.filter(clinic_id=request.user.clinic_id), pk=pk)
    try:
        services.staff_deactivate(user=user, by=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _staff_page(request, status=400)
    messages.success(request, f"{user} can no longer log in. Reassign their clients below if needed.")
    return redirect("clinic_staff")


@clinic_admin_required
def staff_reassign(request, pk):
    therapist = _therapist_in_clinic(request, pk)
    clients = list(
        Client.objects.filter(clinic_id=request.user.clinic_id, therapist=therapist)
        .order_by("status", "display_name", "id").values_list("id", "display_name", "status")
    )
    choices = [(str(cid), f"{name}{' (discharged)' if status == Client.Status.DISCHARGED else ''}")
               for cid, name, status in clients]
    form = ReassignForm(request.POST or None, from_therapist=therapist, client_choices=choices)
    if request.method == "POST":
        if form.is_valid():
            try:
                moved = services.clients_reassign(
                    from_therapist=therapist, to_therapist=form.cleaned_data["to_therapist"], by=request.user,
                    client_ids=form.client_ids(), request=request,
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, f"{len(moved)} client(s) moved to {form.cleaned_data['to_therapist']}.")
                return redirect("clinic_staff")
        return render(request, "clinic/staff/reassign.html", {"therapist": therapist, "form": form}, status=400)
    return render(request, "clinic/staff/reassign.html", {"therapist": therapist, "form": form})


@clinic_admin_required
@require_POST
def staff_supervisees(request, pk):
    """Set whom a supervisor of this clinic supervises."""
    supervisor = get_object_or_404(
        User.objects.filter(clinic_id=request.user.clinic_id, role=User.Role.SUPERVISOR, is_active=True), pk=pk
    )
    form = SuperviseesForm(request.POST, supervisor=supervisor, prefix=f"s{supervisor.pk}")
    if form.is_valid():
        try:
            chosen = services.supervisees_set(
                supervisor=supervisor, therapist_ids=[t.pk for t in form.cleaned_data["therapists"]],
                by=request.user, request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
        else:
            messages.success(request, ngettext(
                "%(name)s now supervises %(count)s therapist.", "%(name)s now supervises %(count)s therapists.",
                len(chosen),
            ) % {"name": supervisor, "count": len(chosen)})
            return redirect("clinic_staff")
    return _staff_page(request, status=400, supervisees_forms={supervisor.pk: form})


def _user_from_link(uidb64, token):
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None
    if not user.is_active or not staff_invite_token_generator.check_token(user, token):
        return None
    return user


@never_cache
def staff_join(request, uidb64, token):
    """Public: the invited therapist sets a password. The link is spent once the
    password is set (the token covers the password hash) and expires with
    STAFF_INVITE_TIMEOUT."""
    user = _user_from_link(uidb64, token)
    if user is None:
        return render(request, "clinic/staff/join.html", {"invalid": True}, status=400)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            services.staff_join(user=user, password=form.cleaned_data["new_password1"], request=request)
            messages.success(request, "Your password is set. Log in to finish setting up your account.")
            return redirect("login")
        return render(request, "clinic/staff/join.html", {"form": form, "joining": user}, status=400)
    return render(request, "clinic/staff/join.html", {"form": form, "joining": user})
