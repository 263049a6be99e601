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


@pytest.fixture
def login():
    """Log a user into a Django test client as a fully authenticated staff member.

    Use this, not client.force_login, in every view test: when login requires a second
    factor, this fixture is where the test session gets it, in one place.
    """

    def do_login(client, user):
        client.force_login(user)
        return client

    return do_login


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
