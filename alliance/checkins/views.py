"""The pages a client reaches from a check-in email (no login: the token in the path is
the only key), and the therapist's "send it again" button.

Every client page is `no-store` (a shared computer's back button must not show the
answers), sends no referrer (the token is in the URL), is rate limited per IP and loads
nothing from third parties (templates/survey/base.html)."""

import logging
import zoneinfo
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.access import therapist_required
from alliance.models import Channel, SurveyInvitation
from audit.services import audit_record
import sms
from config.qr import qr_svg
from config.ratelimit import over_limit, over_limit_later
from sessions.selectors import session_for_user

from . import in_session, outbox, page, services, sms_replies
from .forms import CheckInForm
from .handover import HANDOVER_KEY, UNLOCK_ATTEMPTS, handover_lock, handover_release, handover_state
from .wording import client_language

GONE_STATUS = 410
log = logging.getLogger(__name__)


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
    def wrapped(request, *args, **kwargs):
        address = _ip("survey", request) or "unknown"
        if request.method in ("GET", "HEAD"):
            # A GET changes nothing: its page is made while the count's round trip is
            # under way, and thrown away if the count says no (whatever the page did).
            over = over_limit_later("survey", address, settings.SURVEY_RATE_LIMIT)
            try:
                response = view(request, *args, **kwargs)
            except BaseException:
                if not over():
                    raise
                response = None
            else:
                response = None if over() else response
        else:
            over_now = over_limit("survey", address, settings.SURVEY_RATE_LIMIT)
            response = None if over_now else view(request, *args, **kwargs)
        if response is None:  # past the limit
            response = render(request, "survey/rate_limited.html", status=429)
            response["Retry-After"] = "60"
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
    which tokens were once real; so it has no per-link content, and is in the
    browser's language (languages/middleware.py), never the client's."""
    return render(request, "survey/gone.html", status=GONE_STATUS)


def _client_page(request, template, language, context=None, status=200):
    """A page a client reads, in `language` (English if we do not write that one),
    whatever the browser asks for."""
    language = client_language(language)
    with translation.override(language):
        response = render(request, template, {"language": language, **(context or {})}, status=status)
    response["Content-Language"] = language
    return response


def _query_language(request):
    """The language a link without a token names (?lang=), for the pages after it."""
    return client_language(request.GET.get("lang", ""))


def _page(request, template, invitation, context=None, status=200):
    clinic = invitation.client.clinic
    return _client_page(
        request, template, invitation.client.language,
        {"clinic_name": clinic.name, "clinic_tz": clinic.tzinfo, **(context or {})}, status=status,
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
    """GET shows the form and changes nothing; POST stores the answers once.

    The hot path of a client's answer: a valid POST is one statement
    (services.checkin_answer) and a GET one lookup and a page kept per language
    (page.py). Only a POST with errors reads the link first, to draw the form again."""
    form = None
    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            answer = services.checkin_answer(token=token, scores=form.scores(), comment=form.cleaned_data["comment"])
            if answer is None:
                return _gone(request)
            # Post/redirect/get: a reload of the thank-you page must not post again.
            return redirect(reverse("survey_thanks") + f"?lang={client_language(answer.language)}")
    link = services.link_for_page(token)
    if link is None:
        return _gone(request)
    return page.checkin_page(
        request, language=client_language(link.language), clinic_name=link.clinic_name,
        tzinfo=zoneinfo.ZoneInfo(link.clinic_timezone), expires_at=link.expires_at, token=token,
        # Only an email carries an unsubscribe link; a text is stopped by STOP.
        with_unsubscribe=link.channel == Channel.EMAIL, form=form, status=400 if form is not None else 200,
    )


@survey_page
@require_http_methods(["GET"])
def thanks(request):
    return _client_page(request, "survey/thanks.html", _query_language(request))


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
    if request.method == "POST":
        services.client_opt_out(client=invitation.client)
        return _page(request, "survey/unsubscribed.html", invitation)
    return _page(request, "survey/unsubscribe.html", invitation)


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
        messages.success(request, _("The check-in will be emailed again within a minute or two."))
    else:
        messages.error(request, _("This check-in cannot be sent again (only failed or expired ones can, with consent)."))
    try:
        return redirect(reverse("client_detail", args=[invitation.client_id]))
    except NoReverseMatch:
        return redirect("home")


# --- In the session (alliance/checkins/in_session.py) ---------------------------------


@csrf_exempt
@survey_page
@require_http_methods(["GET", "POST"])
def code_entry(request):
    """Where a client types the short code from the therapist's screen. A right code
    opens the same check-in page the QR code opens."""
    language = _query_language(request)
    error = None
    if request.method == "POST":
        code = in_session.code_normalise(request.POST.get("code", ""))
        if in_session.invitation_for_code(code) is not None:
            return redirect("survey_checkin", token=code)
        error = True
    return _client_page(request, "survey/code_entry.html", language, {"error": error}, status=400 if error else 200)


def _cannot_start(request, session, reason):
    return render(request, "checkins/in_session_refused.html", {"session": session, "reason": reason}, status=409)


@therapist_required
@require_POST
def in_session_phone(request, session_pk):
    """Show a QR code and a short code that open this session's check-in on the
    client's own phone. Rendered in answer to the POST, never at a URL of its own: the
    codes are not stored, so the page cannot be shown again (start again instead)."""
    session = session_for_user(request.user, session_pk)
    try:
        invitation, token, code = in_session.in_session_start(
            session=session, by=request.user, channel=Channel.IN_SESSION_PHONE, request=request
        )
    except in_session.CannotStart as exc:
        return _cannot_start(request, session, str(exc))
    link = outbox.survey_url(token)
    return render(
        request, "checkins/in_session_phone.html",
        {
            "session": session, "client": session.client, "invitation": invitation,
            "qr_svg": qr_svg(link, box_size=10, border=2), "link": link, "code": in_session.code_format(code),
            "code_url": settings.SITE_URL + reverse("checkin_code"),
            "expires_at": invitation.in_session_expires_at,
        },
    )


@therapist_required
@require_safe
def in_session_status(request, invitation_id):
    """Whether the client has answered yet, for the QR page to say so."""
    invitation = _invitation_for_therapist(request.user, invitation_id)
    return JsonResponse({"answered": invitation.status == SurveyInvitation.Status.ANSWERED})


@therapist_required
@require_POST
def handover_start(request, session_pk):
    """Lock this browser session to the hand-over screen and show the client the
    check-in."""
    session = session_for_user(request.user, session_pk)
    try:
        invitation, token, _code = in_session.in_session_start(
            session=session, by=request.user, channel=Channel.IN_SESSION_DEVICE, request=request
        )
    except in_session.CannotStart as exc:
        return _cannot_start(request, session, str(exc))
    handover_lock(
        request, invitation_id=invitation.id, token=token, language=session.client.language, session_id=session.pk
    )
    audit_record(
        action="handover.locked", actor=request.user, obj=session, clinic=session.client.clinic,
        detail={"session_id": session.pk}, request=request,
    )
    return redirect("handover_checkin")


def _handover_page(request, template, state, context=None, status=200):
    # No cache header here: these pages are a logged-in user's, which
    # accounts.middleware.PrivatePagesNotCachedMiddleware already marks no-store.
    return _client_page(request, template, state["language"], {"handover": True, **(context or {})}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def handover_checkin(request):
    """The hand-over screen: only the check-in, in the client's language."""
    state = handover_state(request)
    if state is None:
        return redirect("home")
    if state["done"]:
        return redirect("handover_thanks")
    invitation = services.invitation_for_answer(state["token"])
    if invitation is None:
        # Ran out of time, or answered on another channel meanwhile.
        return _handover_page(request, "checkins/handover_thanks.html", state, status=410)
    if request.method == "POST":
        form = CheckInForm(request.POST)
        if form.is_valid():
            checkin = services.checkin_submit(
                token=state["token"], scores=form.scores(), comment=form.cleaned_data["comment"], invitation=invitation
            )
            if checkin is None:
                return _handover_page(request, "checkins/handover_thanks.html", state, status=410)
            # The token is spent; keep nothing of it in the session.
            request.session[HANDOVER_KEY] = {**state, "token": "", "done": True}
            return redirect("handover_thanks")
        status = 400
    else:
        form = CheckInForm()
        status = 200
    with translation.override(client_language(state["language"])):
        expires_on = page.expiry_text(invitation.in_session_expires_at, invitation.client.clinic.tzinfo)
    return _handover_page(
        request, "survey/checkin.html", state,
        page.page_context(
            form=form, clinic_name=invitation.client.clinic.name, expires_on=expires_on, unsubscribe_url=None
        ),
        status=status,
    )


@login_required
@require_safe
def handover_thanks(request):
    state = handover_state(request)
    if state is None:
        return redirect("home")
    return _handover_page(request, "checkins/handover_thanks.html", state)


@login_required
@require_http_methods(["GET", "POST"])
def handover_unlock(request):
    """The therapist takes the device back: their password lifts the lock. Too many
    wrong passwords log the session out, so a client cannot guess their way in."""
    state = handover_state(request)
    if state is None:
        return redirect("home")
    error = None
    if request.method == "POST":
        if request.user.check_password(request.POST.get("password", "")):
            handover_release(request)
            audit_record(
                action="handover.unlocked", actor=request.user, obj=None, clinic=request.user.clinic,
                detail={"session_id": state["session"], "answered": state["done"]}, request=request,
            )
            messages.success(
                request, _("The client answered the check-in.") if state["done"] else _("The hand-over ended unanswered.")
            )
            return redirect("session_detail", pk=state["session"])
        failures = state.get("failures", 0) + 1
        if failures >= UNLOCK_ATTEMPTS:
            audit_record(
                action="handover.locked_out", actor=request.user, obj=None, clinic=request.user.clinic,
                detail={"session_id": state["session"]}, request=request,
            )
            logout(request)
            messages.error(request, _("Too many wrong passwords: you were logged out. Log in again to continue."))
            return redirect("login")
        request.session[HANDOVER_KEY] = {**state, "failures": failures}
        left = UNLOCK_ATTEMPTS - failures
        error = ngettext(
            "That password is not right. %(left)d try left before you are logged out.",
            "That password is not right. %(left)d tries left before you are logged out.",
            left,
        ) % {"left": left}
    return render(
        request, "checkins/handover_unlock.html", {"error": error, "handover": True}, status=400 if error else 200
    )


# --- The SMS provider's webhooks (sms/, alliance/checkins/sms_replies.py) ---------------


def _verified_provider_post(request):
    """The POST's parameters if the provider's signature over them is right, else None.
    The URL signed is the public one the provider was given (SITE_URL), not whatever
    Host header reached us behind a proxy."""
    configured = sms.provider()
    if configured is None:
        return None, None
    params = request.POST.dict()
    url = settings.SITE_URL + request.get_full_path()
    if not configured.backend.verify_signature(configured, url=url, params=params, headers=request.headers):
        return configured, None
    return configured, params


def _forged():
    log.warning("sms.webhook_refused reason=signature")
    return HttpResponseForbidden("Signature missing or wrong.", content_type="text/plain")


@csrf_exempt
@require_POST
def sms_status(request):
    """Delivery status callbacks for check-in texts."""
    configured, params = _verified_provider_post(request)
    if params is None:
        return _forged()
    message_id, status, error = configured.backend.parse_status(params)
    sms_replies.sms_status_record(
        message_id=message_id, status=status, error_code=error, order=configured.backend.STATUS_ORDER
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def sms_incoming(request):
    """Replies to check-in texts: STOP and START."""
    configured, params = _verified_provider_post(request)
    if params is None:
        return _forged()
    sender, body = configured.backend.parse_incoming(params)
    action = sms_replies.sms_reply_record(from_number=sender, body=body)
    log.info("sms.reply action=%s", action or "ignored")
    content, content_type = configured.backend.empty_reply()
    return HttpResponse(content, content_type=content_type)
