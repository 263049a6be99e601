"""The second factor: a TOTP app plus ten one-time recovery codes, per staff account.

Built on django-otp's device models. A session counts as verified when it holds the
id of the device that verified it (django_otp.DEVICE_ID_SESSION_KEY, set by
`django_otp.login`). accounts.middleware reads only the session for that, so the check
costs no query per request; enrolling or verifying writes it, logout and session expiry
clear it with the rest of the session.
"""

import base64
import secrets

import django_otp
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_record

TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def session_is_verified(request):
    return bool(request.session.get(django_otp.DEVICE_ID_SESSION_KEY))


def user_has_confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def pending_totp_device(user):
    """The unconfirmed device shown on the setup page; one per user, reused on reload so
    the QR code stays the same until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def base32_key(device):
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def qr_code_data_uri(device):
    """The otpauth:// URL as an SVG QR code in a data: URI (the CSP allows data: images,
    and nothing is sent to a third-party QR service)."""
    from config.qr import qr_svg

    svg = qr_svg(device.config_url, box_size=8)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _new_recovery_code():
    # 10 characters from an unambiguous alphabet: about 50 bits, shown grouped as xxxxx-xxxxx.
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


@transaction.atomic
def recovery_codes_regenerate(*, user, request=None):
    """Replace the user's recovery codes; returns the new codes, shown once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [_new_recovery_code() for _ in range(settings.RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    audit_record(action="mfa.recovery_codes_generated", actor=user, obj=user, request=request)
    return codes


@transaction.atomic
def totp_enrol(*, user, device, token, request):
    """Confirm the pending device with a code from the app. Returns the recovery codes on
    success (and marks the session verified), None if the code is wrong."""
    device = TOTPDevice.objects.select_for_update().get(pk=device.pk, user=user, confirmed=False)
    if not device.verify_token(_digits(token)):
        audit_record(action="mfa.enrol_failed", actor=user, obj=user, request=request)
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # Any other device of this user (an abandoned earlier attempt) is removed.
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = recovery_codes_regenerate(user=user, request=request)
    _rotate_session_key(request)
    django_otp.login(request, device)
    audit_record(action="mfa.enrolled", actor=user, obj=user, request=request)
    return codes


def verify(*, user, token, request):
    """Check a code from the app or a recovery code; on success mark the session
    verified. A recovery code is consumed by django-otp when it matches."""
    token = (token or "").strip().lower()
    device = None
    digits = _digits(token)
    if digits.isdigit() and len(digits) == 6:
        for candidate in TOTPDevice.objects.filter(user=user, confirmed=True):
            if candidate.verify_is_allowed()[0] and candidate.verify_token(digits):
                device = candidate
                break
    else:
        for candidate in StaticDevice.objects.filter(user=user, confirmed=True):
            if candidate.verify_is_allowed()[0] and candidate.verify_token(token):
                device = candidate
                break
    if device is None:
        audit_record(action="auth.mfa_failed", actor=user, obj=user, request=request)
        return None
    _rotate_session_key(request)
    django_otp.login(request, device)
    action = "auth.recovery_code_used" if isinstance(device, StaticDevice) else "auth.mfa_verified"
    detail = {}
    if isinstance(device, StaticDevice):
        detail["codes_left"] = device.token_set.count()
    audit_record(action=action, actor=user, obj=user, request=request, detail=detail)
    return device


def _rotate_session_key(request):
    """A new session key the moment the session becomes fully authenticated (OWASP ASVS
    3.2.1): a cookie captured between the password and the code (shoulder-surfed,
    logged by a proxy) must not turn into a verified session when the owner types the
    code. The session's data moves to the new key; the old key stops working."""
    request.session.cycle_key()


def code_was_already_used(*, user, token):
    """True if a six-digit code that failed is one the user's app showed for a time step
    already used to log in (django-otp refuses a step at or before `last_t`, so a code
    cannot be replayed). Tells the person to wait for the next code rather than that
    they typed it wrong."""
    digits = _digits(token or "")
    if not (digits.isdigit() and len(digits) == 6):
        return False
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        # The same window verify_token accepts, but only the steps it now refuses.
        for offset in range(-device.tolerance, device.tolerance + 1):
            totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + offset)
            if totp.t() <= device.last_t and totp.token() == int(digits):
                return True
    return False


@transaction.atomic
def two_factor_reset(*, user, by, request=None):
    """Remove a user's devices (lost phone): they enrol again at their next login."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    ended = end_sessions_of(user)
    audit_record(action="mfa.reset", actor=by, obj=user, request=request, detail={"sessions_ended": ended})


def end_sessions_of(user):
    """Log a user out everywhere. A session verified by a device that no longer exists
    must not stay verified (the second-factor gate reads the session only). Sessions are
    opaque rows, so each live one is decoded; this runs on rare admin actions only."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            session.delete()
            ended += 1
    return ended


def _digits(token):
    return "".join(ch for ch in str(token or "") if not ch.isspace())
