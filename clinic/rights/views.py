"""Data-rights pages: a clinic admin exports or erases one client; a therapist exports
a client of their own caseload with their own notes."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.access import clinic_admin_required, therapist_required

from clients.selectors import client_for_user, clients_visible_to

from . import services as rights


def _json_download(data, filename):
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class EraseForm(forms.Form):
    confirm = forms.CharField(max_length=100, label="Type the client's name to confirm")

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client

    def clean_confirm(self):
        typed = self.cleaned_data["confirm"].strip()
        if typed != self.client.display_name.strip():
            raise forms.ValidationError("That is not the client's name as recorded; nothing was erased.")
        return typed


@never_cache
@clinic_admin_required
def rights_index(request):
    clients = clients_visible_to(request.user).select_related("therapist")
    return render(request, "clinic/rights/index.html", {"clients": clients})


@never_cache
@require_GET
@clinic_admin_required
def client_export_json(request, pk):
    client = client_for_user(request.user, pk)
    # ?include=comments: the export answers the client's own subject-access request,
    # which covers the comments they wrote (templates/clinic/rights/index.html says so).
    include_comments = request.GET.get("include") == "comments"
    data = rights.client_export(client=client, actor=request.user, request=request, include_comments=include_comments)
    suffix = "-subject-access" if include_comments else ""
    return _json_download(data, f"rapport-client-{client.pk}{suffix}.json")


@never_cache
@require_GET
@therapist_required
def client_export_with_my_notes(request, pk):
    client = client_for_user(request.user, pk)
    if client.therapist_id != request.user.pk:
        raise PermissionDenied
    data = rights.client_export(
        client=client, actor=request.user, request=request, include_notes_of=request.user, include_comments=True
    )
    return _json_download(data, f"rapport-client-{client.pk}-with-my-notes.json")


@never_cache
@clinic_admin_required
def client_erase(request, pk):
    client = client_for_user(request.user, pk)
    form = EraseForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        _, counts = rights.client_erase(client=client, actor=request.user, request=request)
        messages.success(request, f"Client #{pk} and all their records were erased.")
        return redirect("rights_index")
    return render(request, "clinic/rights/erase.html", {
        "client": client, "form": form, "counts": rights.erasure_counts(client),
    }, status=400 if request.method == "POST" else 200)
