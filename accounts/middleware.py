"""Request gates every page passes through after authentication: the absolute session
lifetime and the second factor."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

from . import two_factor

# When the user logged in (epoch seconds), written by accounts.signals at login.
LOGIN_AT_SESSION_KEY = "rapport_login_at"


class SessionAbsoluteTimeoutMiddleware:
    """Log out any session older than settings.SESSION_ABSOLUTE_SECONDS (12 hours), however
    active it has been. The idle limit (30 minutes) is SESSION_COOKIE_AGE, renewed on
    every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            started = request.session.get(LOGIN_AT_SESSION_KEY)
            if not isinstance(started, int):
                # A session from before this limit existed: its clock starts now.
                request.session[LOGIN_AT_SESSION_KEY] = now
            elif now - started > settings.SESSION_ABSOLUTE_SECONDS:
                request.rapport_logout_reason = "absolute_timeout"
                logout(request)
                messages.info(request, "Your session reached its 12-hour limit. Please log in again.")
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """An authenticated user whose session has not passed the second factor may reach
    only the 2FA pages, logout, static files and /healthz. Everything else redirects to
    enrolment (no device yet) or to verification.

    Also gives request.user the `is_verified()` that django_otp's OTPAdminSite asks for,
    answered from the session alone so the check costs no query.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            verified = two_factor.session_is_verified(request)
            user.is_verified = lambda: verified
            if not verified and not self._exempt(request.path_info):
                if two_factor.user_has_confirmed_device(user):
                    target = reverse("two_factor_verify")
                else:
                    target = reverse("two_factor_setup")
                if request.method == "GET" and request.path_info != reverse("home"):
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _exempt(path):
        exempt = (
            reverse("two_factor_setup"),
            reverse("two_factor_verify"),
            reverse("logout"),
            reverse("login"),
            reverse("healthz"),
        )
        return path in exempt or path.startswith(settings.STATIC_URL)


class ClinicTimezoneMiddleware:
    """Show every staff page in the clinic's time zone. Filters already read dates in
    it (clinic.tzinfo); without this, lists rendered in UTC and disagreed with them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and user.clinic_id is not None:
            # Most staff views load the clinic anyway; it is cached on request.user.
            with timezone.override(user.clinic.tzinfo):
                return self.get_response(request)
        return self.get_response(request)


class PrivatePagesNotCachedMiddleware:
    """Nothing a logged-in user sees may stay in a browser or proxy cache: a note or a
    client list must not come back through the back button on a shared computer after
    logout or the idle timeout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.user.is_authenticated and not request.path_info.startswith(settings.STATIC_URL):
            add_never_cache_headers(response)
        return response
