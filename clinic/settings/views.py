"""The clinic's survey timing and flag thresholds (clinic admins only)."""

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language_info
from django.utils.translation import gettext
from django.views.decorators.http import require_safe

from accounts import services
from accounts.access import clinic_admin_required
from accounts.models import Clinic
from accounts.services import FLAG_SETTINGS
from alliance.checkins.wording import UNVALIDATED_LANGUAGES
from alliance.flags.selectors import flag_recompute_progress

from .forms import ClinicSettingsForm


def _page(request, form, status=200):
    context = {
        "form": form, "recompute": flag_recompute_progress(request.user.clinic_id), "sms_enabled": settings.SMS_ENABLED,
        # The check-in's items in these languages are our own, unvalidated translations.
        "unvalidated_languages": [get_language_info(code)["name_translated"] for code in UNVALIDATED_LANGUAGES],
    }
    return render(request, "clinic/settings/settings.html", context, status=status)


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
                changed = ", ".join(
                    f"{form.fields[n].label} {d['old']} → {d['new']}" for n, d in diff.items()
                )
                message = gettext("Settings saved: %(changes)s.") % {"changes": changed}
                if set(diff) & set(FLAG_SETTINGS):
                    message += " " + gettext(
                        "Every client's flags are being recomputed in the background; progress is shown below."
                    )
                messages.success(request, message)
            else:
                messages.info(request, gettext("Nothing changed."))
            return redirect("clinic_settings")
        return _page(request, form, status=400)
    return _page(request, form)


@clinic_admin_required
@require_safe
def clinic_settings_recompute(request):
    """The flag recompute's progress, for the settings page to refresh (counts only)."""
    progress = flag_recompute_progress(request.user.clinic_id)
    return JsonResponse(progress.as_json() if progress else {"running": False, "done": 0, "total": 0, "text": ""})
