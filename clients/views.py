from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import reader_required, therapist_required
from alliance.models import SCORE_FIELDS
from audit.services import audit_record

from . import services
from .forms import CaseloadFilterForm, ClientForm
from .models import Client
from .selectors import caseload_for_therapist, client_for_user, client_record

PER_PAGE = 25

# The chart titles of the four dimensions, as the therapist reads them.
DIMENSION_TITLES = {
    "trust": pgettext_lazy("chart title", "Trust (0–10)"),
    "empathy": pgettext_lazy("chart title", "Empathy (0–10)"),
    "boundaries": pgettext_lazy("chart title", "Boundaries (0–10)"),
    "collaboration": pgettext_lazy("chart title", "Collaboration (0–10)"),
}


@therapist_required
@require_http_methods(["GET", "HEAD", "POST"])
def caseload(request):
    """The therapist's home: their clients, each with the numbers that say whether the
    relationship needs a look. The query count does not grow with the caseload (see
    clients.selectors.caseload_for_therapist and tests/clients/test_caseload.py).

    The filter form is POSTed and answered with the page itself, not a redirect, so a
    client's name typed into the search never goes into a URL, where it would reach the
    server's access log, the browser's history and the next page's Referer. The other
    filters name no one and still work as a GET query (a bookmark, a link); a name in
    the address (`?q=`, an old bookmark) is ignored."""
    searching = request.method == "POST"
    data = request.POST if searching else request.GET.copy()
    if not searching:
        data.pop("q", None)
    form = CaseloadFilterForm(data or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "page": None, "filtered": True, "searching": searching}
        return render(request, "clients/caseload.html", context, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    clients = caseload_for_therapist(
        request.user,
        q=filters.get("q", ""),
        modality=filters.get("modality", ""),
        needs_attention=filters.get("attention", False),
        status=filters.get("status") or Client.Status.ACTIVE,
    )
    page = Paginator(clients, PER_PAGE).get_page(data.get("page"))
    query = data.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "filtered": any(filters.get(k) for k in ("q", "modality", "attention")),
        # After a POST, other pages are reached by POSTing the form again (the search
        # stays out of the address); after a GET, by links carrying the query.
        "searching": searching,
        "query": "" if searching else query.urlencode(),
        "status": filters.get("status") or Client.Status.ACTIVE,
    }
    return render(request, "clients/caseload.html", context)


@therapist_required
def client_new(request):
    form = ClientForm(request.POST or None, clinic=request.user.clinic)
    if request.method == "POST":
        if form.is_valid():
            client = services.client_create(therapist=request.user, data=form.cleaned_data, request=request)
            messages.success(request, f"{client.display_name} added to your caseload.")
            return redirect("client_detail", pk=client.pk)
        return render(request, "clients/client_form.html", {"form": form}, status=400)
    return render(request, "clients/client_form.html", {"form": form})


@therapist_required
def client_edit(request, pk):
    client = client_for_user(request.user, pk)
    form = ClientForm(request.POST or None, instance=client, clinic=client.clinic)
    if request.method == "POST":
        if form.is_valid():
            # The ModelForm has already copied the values onto `client`; reload so the
            # service sees what is stored and records what really changed.
            client.refresh_from_db()
            services.client_update(client=client, by=request.user, data=form.cleaned_data, request=request)
            messages.success(request, "Client details saved.")
            return redirect("client_detail", pk=client.pk)
        client.refresh_from_db()
        return render(request, "clients/client_form.html", {"form": form, "client": client}, status=400)
    return render(request, "clients/client_form.html", {"form": form, "client": client})


@therapist_required
@require_http_methods(["GET", "HEAD", "POST"])
def client_discharge(request, pk):
    """GET asks to confirm, saying what discharge does; only the POST discharges."""
    client = client_for_user(request.user, pk)
    if request.method != "POST":
        if not client.is_active:
            return redirect("client_detail", pk=client.pk)
        return render(request, "clients/client_discharge_confirm.html", {"client": client})
    services.client_discharge(client=client, by=request.user, request=request)
    messages.success(request, f"{client.display_name} was discharged. No more check-ins will be sent.")
    return redirect("client_detail", pk=client.pk)


@therapist_required
@require_POST
def client_reactivate(request, pk):
    client = client_for_user(request.user, pk)
    services.client_reactivate(client=client, by=request.user, request=request)
    messages.success(request, f"{client.display_name} is active again.")
    return redirect("client_detail", pk=client.pk)


@reader_required
@require_safe
def client_detail(request, pk):
    """The client's record: alliance charts, sessions, comments and flags. A clinic
    admin, and a supervisor of the client's therapist, see it too, but never a note,
    never a comment and no buttons that change anything."""
    client = client_for_user(request.user, pk)
    audit_record(action="client.view", actor=request.user, obj=client, request=request)
    context = {
        "client": client,
        "can_edit": request.user.is_therapist,
        "dimension_titles": [(f, DIMENSION_TITLES[f]) for f in SCORE_FIELDS],
        **client_record(client, page=request.GET.get("page"), viewer=request.user),
    }
    if not request.user.is_therapist:
        # The check-in tells clients "Your therapist will read it": a comment is theirs
        # to their therapist, not to the clinic's oversight.
        context["comments"] = None
    return render(request, "clients/client_detail.html", context)
