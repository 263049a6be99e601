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
    """Each secret can come from NAME or from the file NAME_FILE names (Docker/K8s secrets)."""
    import re
    from pathlib import Path

    from config.settings import base

    settings_dir = Path(base.BASE_DIR / "config/settings")
    base_src = (settings_dir / "base.py").read_text()
    prod_src = (settings_dir / "production.py").read_text()
    for name in ("SECRET_KEY", "NOTE_ENCRYPTION_KEYS", "DATABASE_URL", "EMAIL_URL", "REDIS_URL"):
        assert re.search(rf'env_secret\(\s*"{name}"', base_src), name
    for name in ("SECRET_KEY", "NOTE_ENCRYPTION_KEYS", "DATABASE_URL"):
        assert re.search(rf'env_secret\(\s*"{name}"', prod_src), name
    for source in (base_src, prod_src):
        for name in ("SECRET_KEY", "NOTE_ENCRYPTION_KEYS", "DATABASE_URL", "EMAIL_URL", "REDIS_URL"):
            for reader in (f'env("{name}"', f'env.db("{name}"', f'env.email("{name}"', f'env.str("{name}"'):
                assert reader not in source, f"{reader} bypasses env_secret"


def test_production_reads_the_database_url_from_a_file(tmp_path):
    import subprocess
    import sys

    from tests.test_project import ROOT, _production_env

    secret = tmp_path / "db"
    secret.write_text("postgres://app:from-a-file@db.internal:5432/rapport\n")
    env = _production_env(DATABASE_URL_FILE=str(secret))
    del env["DATABASE_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c",
         "from django.conf import settings; d = settings.DATABASES['default']; print(d['HOST'], d['PASSWORD'])"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("db.internal from-a-file")


def test_responses_carry_the_content_security_policy(client):
    from django.urls import reverse

    policy = client.get(reverse("login"))["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
                      "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'", "object-src 'none'"):
        assert directive in policy
    assert "unsafe" not in policy
