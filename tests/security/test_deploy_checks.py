"""Our own deploy checks (accounts/checks.py) fire when their setting is broken."""

import pytest
from django.core import checks
from django.test import override_settings

from accounts import checks as rapport_checks


def _ids(check):
    return {message.id for message in check(None)}


def test_they_are_registered_as_deploy_checks():
    registered = checks.registry.registry.get_checks(include_deployment_checks=True)
    for fn in (rapport_checks.check_session_limits, rapport_checks.check_security_middleware,
               rapport_checks.check_email_timeout, rapport_checks.check_note_key, rapport_checks.check_csp):
        assert fn in registered
        assert fn not in checks.registry.registry.get_checks(include_deployment_checks=False)


@pytest.mark.parametrize(
    "overrides,check,expected",
    [
        ({"SESSION_COOKIE_AGE": 3600}, rapport_checks.check_session_limits, "rapport.W001"),
        ({"SESSION_SAVE_EVERY_REQUEST": False}, rapport_checks.check_session_limits, "rapport.W001"),
        ({"SESSION_ABSOLUTE_SECONDS": 0}, rapport_checks.check_session_limits, "rapport.W002"),
        ({"SESSION_ABSOLUTE_SECONDS": 48 * 3600}, rapport_checks.check_session_limits, "rapport.W002"),
        ({"EMAIL_TIMEOUT": None}, rapport_checks.check_email_timeout, "rapport.W004"),
        ({"NOTE_ENCRYPTION_KEYS": rapport_checks.DEV_NOTE_KEY}, rapport_checks.check_note_key, "rapport.W005"),
        ({"NOTE_ENCRYPTION_KEYS": ""}, rapport_checks.check_note_key, "rapport.W005"),
        ({"CONTENT_SECURITY_POLICY": {"DIRECTIVES": {"script-src": ["'self'", "'unsafe-inline'"]}}},
         rapport_checks.check_csp, "rapport.W006"),
        ({"CONTENT_SECURITY_POLICY": None}, rapport_checks.check_csp, "rapport.W006"),
    ],
)
def test_each_check_fires_when_broken(overrides, check, expected):
    with override_settings(**overrides):
        assert expected in _ids(check)


def test_the_middleware_check_fires_without_the_second_factor_gate(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "accounts.middleware.SecondFactorRequiredMiddleware"]
    assert "rapport.W003" in _ids(rapport_checks.check_security_middleware)


def test_they_are_quiet_with_good_settings():
    with override_settings(NOTE_ENCRYPTION_KEYS="dGVzdC1vbmx5LXByb2R1Y3Rpb24tbm90ZS1rZXkhISE="):
        for check in (rapport_checks.check_session_limits, rapport_checks.check_security_middleware,
                      rapport_checks.check_email_timeout, rapport_checks.check_note_key, rapport_checks.check_csp):
            assert check(None) == []


def test_production_cookies_are_secure_httponly_and_samesite():
    from config.settings import base

    # production.py is exercised by tests/test_project.py's deploy check; here its values.
    import ast
    from pathlib import Path

    source = Path(base.BASE_DIR / "config/settings/production.py").read_text()
    assigned = {t.id: n.value for n in ast.parse(source).body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "SECURE_HSTS_PRELOAD"):
        assert ast.literal_eval(assigned[name]) is True
    assert ast.literal_eval(assigned["X_FRAME_OPTIONS"]) == "DENY"
    assert base.SESSION_COOKIE_HTTPONLY and base.SESSION_COOKIE_SAMESITE == "Lax"


def test_every_secret_is_read_through_env_secret():
    from pathlib import Path

    from config.settings import base

    for name in ("base.py", "production.py"):
        source = Path(base.BASE_DIR / "config/settings" / name).read_text()
        for secret in ("SECRET_KEY", "NOTE_ENCRYPTION_KEYS"):
            for line in source.splitlines():
                if line.startswith(f"{secret} ="):
                    assert "env_secret(" in line or "env_secret(" in source.split(line)[1][:200]


def test_responses_carry_the_content_security_policy(client):
    from django.urls import reverse

    policy = client.get(reverse("login"))["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'", "object-src 'none'"):
        assert directive in policy
    assert "unsafe" not in policy
