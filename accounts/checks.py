"""System checks for what `check --deploy` does not know about: our session limits, the
second-factor gate, email timeouts and the note key. Tagged deploy, so they run with
`manage.py check --deploy` (and the deploy-check test) and not on every runserver."""

from django.conf import settings
from django.core import checks

from sessions.notes import configured_keys

DEV_NOTE_KEY = "ZGV2LW9ubHktbm90ZS1rZXktMzItYnl0ZXMtbG9uZyE="
MAX_IDLE_SECONDS = 30 * 60
REQUIRED_MIDDLEWARE = (
    "accounts.middleware.SessionAbsoluteTimeoutMiddleware",
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
)


@checks.register(checks.Tags.security, deploy=True)
def check_session_limits(app_configs, **kwargs):
    errors = []
    if settings.SESSION_COOKIE_AGE > MAX_IDLE_SECONDS or not settings.SESSION_SAVE_EVERY_REQUEST:
        errors.append(checks.Warning(
            "Sessions must end after at most 30 minutes idle.",
            hint="Set SESSION_IDLE_SECONDS <= 1800 and keep SESSION_SAVE_EVERY_REQUEST = True.",
            id="rapport.W001",
        ))
    absolute = getattr(settings, "SESSION_ABSOLUTE_SECONDS", None)
    if not absolute or absolute <= 0 or absolute > 12 * 60 * 60:
        errors.append(checks.Warning(
            "Sessions need an absolute lifetime of at most 12 hours.",
            hint="Set SESSION_ABSOLUTE_SECONDS (default 43200).",
            id="rapport.W002",
        ))
    return errors


@checks.register(checks.Tags.security, deploy=True)
def check_security_middleware(app_configs, **kwargs):
    missing = [m for m in REQUIRED_MIDDLEWARE if m not in settings.MIDDLEWARE]
    if missing:
        return [checks.Warning(
            f"Security middleware missing: {', '.join(missing)}.",
            hint="Every staff page must pass the second factor, the absolute session limit, the "
            "lockout and the CSP; see config/settings/base.py.",
            id="rapport.W003",
        )]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_email_timeout(app_configs, **kwargs):
    if not getattr(settings, "EMAIL_TIMEOUT", None):
        return [checks.Warning(
            "EMAIL_TIMEOUT is not set: a hung SMTP server would hold a worker forever.",
            hint="Set EMAIL_TIMEOUT (seconds), e.g. 15.",
            id="rapport.W004",
        )]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_note_key(app_configs, **kwargs):
    keys = configured_keys()
    if not keys or DEV_NOTE_KEY in keys:
        return [checks.Warning(
            "NOTE_ENCRYPTION_KEYS holds the development key (or nothing): session notes would be "
            "readable by anyone with the source code.",
            hint="Generate a key with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'` and pass it via NOTE_ENCRYPTION_KEYS_FILE.",
            id="rapport.W005",
        )]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_csp(app_configs, **kwargs):
    directives = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get("DIRECTIVES", {})
    script = directives.get("script-src") or directives.get("default-src") or []
    if not directives or any("unsafe" in str(v) for v in script):
        return [checks.Warning(
            "The Content Security Policy is missing or allows inline/eval script.",
            id="rapport.W006",
        )]
    return []
