from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import therapist_required

from .forms import FlagAcknowledgeForm
from .guidance import INTRO, options_for
from .services import flag_acknowledge
from alliance.models import Flag
from .selectors import flags_needing_attention


def _flag_for_therapist(user, pk):
    """Only the client's own therapist reaches a flag to act on it; anyone else,
    the clinic admin included, gets 404, so a guessed id reveals nothing."""
    if not user.is_therapist or user.clinic_id is None:
        return get_object_or_404(Flag.objects.none(), pk=pk)
    return get_object_or_404(
        Flag.objects.select_related("client", "session"),
        pk=pk, client__therapist=user, client__clinic_id=user.clinic_id,
    )


def _back(request, flag):
    """Where to go after acting on a flag: the page the form was on (a local path
    only), else the client page."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    try:
        return reverse("client_detail", args=[flag.client_id])
    except NoReverseMatch:
        return reverse("needs_attention")


@login_required
@require_POST
def flag_acknowledge_view(request, pk):
    flag = _flag_for_therapist(request.user, pk)
    form = FlagAcknowledgeForm(request.POST, kind=flag.kind)
    if form.is_valid():
        try:
            flag_acknowledge(
                flag=flag, by=request.user, strategies=form.cleaned_data["strategies"],
                note=form.cleaned_data["note"], request=request,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.info(request, " ".join(exc.messages))
                return HttpResponseRedirect(_back(request, flag))
        else:
            messages.success(request, _("%(kind)s flag for %(client)s acknowledged.") % {
                "kind": flag.get_kind_display(), "client": flag.client.display_name,
            })
            return HttpResponseRedirect(_back(request, flag))
    return render(request, "alliance/flag_acknowledge.html", {
        "flag": flag, "form": form, "options": options_for(flag.kind), "intro": INTRO,
    }, status=400)


@therapist_required
def needs_attention(request):
    to_review, acknowledged = flags_needing_attention(request.user)
    return render(request, "alliance/needs_attention.html", {"to_review": to_review, "acknowledged": acknowledged})
