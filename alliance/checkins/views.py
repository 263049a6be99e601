"""The pages a client reaches from a check-in email (no login: the token in the path is
the only key), and the therapist's "send it again" button.

Every client page is `no-store` (a shared computer's back button must not show the
answers), sends no referrer (the token is in the URL), is rate limited per IP and loads
nothing from third parties (templates/survey/base.html)."""

import logging
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from alliance.models import SurveyInvitation

from . import outbox, services
from .forms import COMMENT_MAX, CheckInForm
from .text import TEXT, text_for

GONE_STATUS = 410
log = logging.getLogger(__name__)


def _rate(group, request):
    return settings.SURVEY_RATE_LIMIT


def _ip(group, request):
    """The client address as the login lockout sees it (it knows how many proxies to
    trust); REMOTE_ADDR when that module is not there."""
    try:
        from accounts.lockout import ratelimit_ip
    except ImportError:
        return request.META.get("REMOTE_ADDR", "unknown")
    return ratelimit_ip(group, request)


def survey_page(view):
    """Headers, rate limit and the friendly 429 that every client page shares."""

    @wraps(view)
    @ratelimit(group="survey", key=_ip, rate=_rate, method=ratelimit.ALL, block=False)
    def wrapped(request, *args, **kwargs):
        if getattr(request, "limited", False):
            response = render(request, "survey/rate_limited.html", status=429)
            response["Retry-After"] = "60"
        else:
            response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "no-store"
        response["X-Robots-Tag"] = "noindex, nofollow"
        if response.status_code >= 400:
            # Django's request logger would write the path, and with it a token that may
            # still be live (a 400 is a usable link with a bad answer). Log without it;
            # the flag is the one Django itself sets once a response has been logged.
            log.info("survey.%s status=%s", view.__name__, response.status_code)
            response._has_been_logged = True
        return response

    return wrapped


def _gone(request):
    """One page, one status, for every link that cannot be used: unknown, tampered,
    answered or expired. It must not differ between them, or it would tell a guesser
    which tokens were once real; so it is bilingual and has no per-link content."""
    return render(request, "survey/gone.html", status=GONE_STATUS)


def _page(request, template, invitation, context=None, status=200):
    language = invitation.client.language
    with translation.override(language):
        return render(
            request, template,
            {
                "t": text_for(language),
                "language": language if language in TEXT else "en",
                "clinic_name": invitation.client.clinic.name,
                "clinic_tz": invitation.client.clinic.tzinfo,
                **(context or {}),
            },
            status=status,
        )


# No CSRF cookie check on the client's pages, for two reasons. The token in the path is
# the credential and no cookie gives a request any authority here, so there is nothing
# for a forged cross-site POST to borrow. And the pages must send no referrer (the
# token is in the URL), under which browsers send "Origin: null" and no Referer with
# the form, which Django's CSRF check refuses (always, over HTTPS).
@csrf_exempt
@survey_page
@require_http_methods(["GET", "POST"])
def checkin(request, token):
    """GET shows the form and changes nothing; POST stores the answers once."""
    invitation = services.invitation_for_answer(token)
    if invitation is None:
        return _gone(request)
    language = invitation.client.language
    if request.method == "POST":
        form = CheckInForm(request.POST, language=language)
        if form.is_valid():
            checkin = services.checkin_submit(
                token=token, scores=form.scores(), comment=form.cleaned_data["comment"], invitation=invitation
            )
            if checkin is None:
                return _gone(request)
            # Post/redirect/get: a reload of the thank-you page must not post again.
            return redirect(reverse("survey_thanks") + f"?lang={language}")
        status = 400
    else:
        form = CheckInForm(language=language)
        status = 200
    return _page(
        request, "survey/checkin.html", invitation,
        {"form": form, "expires_at": invitation.expires_at, "comment_max": COMMENT_MAX, "token": token},
        status=status,
    )


@survey_page
@require_http_methods(["GET"])
def thanks(request):
    language = request.GET.get("lang", "en")
    language = language if language in TEXT else "en"
    with translation.override(language):
        return render(request, "survey/thanks.html", {"t": text_for(language), "language": language})


# Mail clients' one-click unsubscribe (RFC 8058) POSTs "List-Unsubscribe=One-Click"
# from the mail server, with no page and so no CSRF token; and see `checkin` above.
@csrf_exempt
@survey_page
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET asks for confirmation and changes nothing; POST (the button, or a mail
    client's one-click) stops all check-in emails to this client."""
    invitation = services.invitation_for_unsubscribe(token)
    if invitation is None:
        return _gone(request)
    t = text_for(invitation.client.language)
    clinic_name = invitation.client.clinic.name
    if request.method == "POST":
        services.client_opt_out(client=invitation.client)
        body = t["unsubscribed_body"].format(clinic=clinic_name)
        return _page(request, "survey/unsubscribed.html", invitation, {"body": body})
    body = t["unsubscribe_body"].format(clinic=clinic_name)
    return _page(request, "survey/unsubscribe.html", invitation, {"body": body})


# --- The therapist's side ---------------------------------------------------------------


def _invitation_for_therapist(user, invitation_id):
    """The invitation, if it is for a client in this therapist's own caseload; 404 for
    anyone else, so a guessed id reveals nothing."""
    return get_object_or_404(
        SurveyInvitation.objects.select_related("client__clinic"),
        id=invitation_id, client__therapist=user, client__clinic_id=user.clinic_id,
    )


@login_required
@require_POST
def resend(request, invitation_id):
    invitation = _invitation_for_therapist(request.user, invitation_id)
    if outbox.invitation_resend(invitation=invitation, by=request.user):
        messages.success(request, "The check-in will be emailed again within a minute or two.")
    else:
        messages.error(request, "This check-in cannot be sent again (only failed or expired ones can, with consent).")
    try:
        return redirect(reverse("client_detail", args=[invitation.client_id]))
    except NoReverseMatch:
        return redirect("home")
