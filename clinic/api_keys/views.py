"""The clinic's API keys (clinic admins only): make one (its secret shown once, on the
page that answers the form, never again), revoke one. Another clinic's key answers 404."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.access import clinic_admin_required
from api.models import ApiKey
from api.services import api_key_create, api_key_revoke

from .forms import ApiKeyForm


def _page(request, form=None, created=None, secret=None, status=200):
    keys = ApiKey.objects.filter(clinic_id=request.user.clinic_id).select_related("created_by", "revoked_by")
    return render(request, "clinic/api_keys/keys.html", {
        "keys": keys, "form": form or ApiKeyForm(), "created": created, "secret": secret,
    }, status=status)


@clinic_admin_required
@never_cache
def api_keys(request):
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            key, secret = api_key_create(
                clinic=request.user.clinic, by=request.user, name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"], request=request,
            )
            # Rendered, not redirected: the secret lives in this one response only.
            return _page(request, created=key, secret=secret, status=201)
        return _page(request, form=form, status=400)
    return _page(request)


@clinic_admin_required
@require_POST
def api_key_revoke_view(request, pk):
    key = get_object_or_404(ApiKey.objects.filter(clinic_id=request.user.clinic_id), pk=pk)
    api_key_revoke(key=key, by=request.user, request=request)
    messages.success(request, _("The key “%(name)s” is revoked: it no longer works.") % {"name": key.name})
    return redirect("clinic_api_keys")
