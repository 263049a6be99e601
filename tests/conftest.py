"""Shared fixtures. The named cast, as in healthchecks' tests:

- alice and bob: therapists at the same clinic;
- carol: the clinic admin there;
- mallory: a therapist at another clinic, who must never see any of it.
"""

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import PASSWORD, ClientFactory, ClinicFactory, UserFactory

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_sessionstart(session):
    """Tests read the catalogues as they are in the work tree: compile them first (in
    Python, as `make catalogues` does), so a bare `pytest` never runs on stale .mo files."""
    from languages.catalogues import compile as compile_catalogues

    compile_catalogues()


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    return [
        f"rapport: database engine={db['ENGINE']} host={db.get('HOST') or '-'} name={db['NAME']}",
        f"rapport: broker={settings.CELERY_BROKER_URL.split('@')[-1]} CI={IN_CI}",
    ]


def _unavailable(reason):
    """In CI a missing service is a failure, never a skip; on a laptop it is a skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: tests that need it must not skip)")
    pytest.skip(reason)


@pytest.fixture
def require_postgres():
    if connection.vendor != "postgresql":
        _unavailable("needs PostgreSQL: set DATABASE_URL=postgres://…")


@pytest.fixture
def require_redis():
    if not settings.REDIS_URL:
        _unavailable("needs Redis: set REDIS_URL=redis://…")
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"REDIS_URL is set but Redis does not answer: {exc}")


def verified_session_login(client, user):
    """Give a Django test client the session a staff member has after password *and*
    second factor: the auth keys, a confirmed TOTP device recorded as the one that
    verified the session (django_otp.DEVICE_ID_SESSION_KEY), and the login time the
    absolute session limit counts from.

    Built directly, like client.force_login does internally, but without sending
    user_logged_in: the login itself is not what a view test is about, so it leaves no
    audit row or last_login change behind for the test to trip over.
    """
    import time

    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.middleware import LOGIN_AT_SESSION_KEY

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[LOGIN_AT_SESSION_KEY] = int(time.time())
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


@pytest.fixture
def login():
    """Log a user into a Django test client as a fully authenticated staff member,
    second factor included.

    Use this, not client.force_login, in every view test: a force_login session has not
    passed the second factor, so every page would redirect it to the 2FA setup.
    """

    def do_login(client, user):
        return verified_session_login(client, user)

    return do_login


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in the cache; each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def clinic(db):
    return ClinicFactory(name="Harbour Clinic")


@pytest.fixture
def alice(clinic):
    return UserFactory(email="alice@example.com", full_name="Alice Therapist", clinic=clinic)


@pytest.fixture
def bob(clinic):
    return UserFactory(email="bob@example.com", full_name="Bob Therapist", clinic=clinic)


@pytest.fixture
def carol(clinic):
    return UserFactory(email="carol@example.com", full_name="Carol Admin", clinic=clinic, role="clinic_admin")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(name="Elsewhere Clinic")


@pytest.fixture
def mallory(other_clinic):
    return UserFactory(email="mallory@example.com", full_name="Mallory Elsewhere", clinic=other_clinic)


@pytest.fixture
def alice_client(alice):
    return ClientFactory(therapist=alice, display_name="J.D.")


@pytest.fixture
def bob_client(bob):
    return ClientFactory(therapist=bob, display_name="K.L.")
