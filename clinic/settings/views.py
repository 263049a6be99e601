"""The clinic's survey timing and flag thresholds (clinic admins only)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from accounts import services
from accounts.access import clinic_admin_required
from accounts.models import Clinic

from .forms import ClinicSettingsForm


@clinic_admin_required
def clinic_settings(request):
    clinic = Clinic.objects.get(pk=request.user.clinic_id)
    form = ClinicSettingsForm(request.POST or None, instance=clinic)
    if request.method == "POST":
        if form.is_valid():
            _, diff = services.clinic_settings_update(
                clinic=clinic, changes=form.changes(), by=request.user, request=request
            )
            if diff:
                messages.success(request, "Settings saved: " + ", ".join(
                    f"{Clinic._meta.get_field(n).verbose_name} {d['old']} → {d['new']}" for n, d in diff.items()
                ) + ".")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("clinic_settings")
        return render(request, "clinic/settings/settings.html", _context(form), status=400)
    return render(request, "clinic/settings/settings.html", _context(form))


def _context(form):
    return {"form": form, "sms_enabled": settings.SMS_ENABLED}
