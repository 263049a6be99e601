"""Login lockout (django-axes) and rate limits (django-ratelimit), wired to our login.

Axes counts failures per username and per IP (settings.AXES_LOCKOUT_PARAMETERS); after
AXES_FAILURE_LIMIT of either, that username or IP is refused for AXES_COOLOFF_TIME even
with the right password. A clinic admin unlocks a colleague at /clinic/audit/lockouts/,
a platform operator with `manage.py axes_reset_username <email>` or the axes admin.
"""

import math

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import ngettext

from audit.services import client_ip


def cooloff_minutes():
    return math.ceil(float(settings.AXES_COOLOFF_TIME) * 60)


def lockout_message():
    minutes = cooloff_minutes()
    return ngettext(
        "Too many failed attempts. For your security, logging in is paused: try again in %(minutes)d minute "
        "or ask your clinic admin to unlock your account.",
        "Too many failed attempts. For your security, logging in is paused: try again in %(minutes)d minutes "
        "or ask your clinic admin to unlock your account.",
        minutes,
    ) % {"minutes": minutes}


def username_from_request(request, credentials):
    """The email being tried, lower-cased, so "Alice@X" and "alice@x" share one counter."""
    value = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD)
    if value is None and request is not None:
        value = request.POST.get(settings.AXES_USERNAME_FORM_FIELD)
    return (value or "").strip().lower() or None


def lockout_response(request, original_response=None, credentials=None):
    """The login page again, with the lockout explained, answered 429."""
    from .forms import LoginForm

    form = LoginForm(request, data=None)
    return render(
        request,
        "accounts/login.html",
        {"form": form, "lockout_message": lockout_message(), "next": ""},
        status=429,
    )


def ratelimit_ip(group, request):
    """django-ratelimit key: the same client address the lockout and the audit use."""
    return client_ip(request) or "unknown"


def locked_out_usernames(usernames):
    """Which of these emails are locked out right now (failures at the limit, within
    the cool-off)."""
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.db.models import Sum
    from django.utils import timezone

    # Axes keeps one row per (username, IP, user agent); the username lockout counts
    # the failures of all of them, so this does too.
    since = timezone.now() - timedelta(hours=float(settings.AXES_COOLOFF_TIME))
    return set(
        AccessAttempt.objects.filter(username__in=list(usernames), attempt_time__gte=since)
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .values_list("username", flat=True)
    )


def unlock_username(username):
    """Clear the failures recorded for one email (every IP it was tried from)."""
    from axes.utils import reset

    return reset(username=username)
