"""Browser sessions: a new id at login, 30 minutes idle, 12 hours at most."""

import time

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.middleware import LOGIN_AT_SESSION_KEY
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_session_id_changes_at_login(client, alice, password):
    client.get(reverse("login"))
    client.session["probe"] = 1  # make sure an anonymous session exists
    session = client.session
    session["probe"] = 1
    session.save()
    before = session.session_key
    client.cookies[settings.SESSION_COOKIE_NAME] = before
    client.post(reverse("login"), {"username": alice.email, "password": password})
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before


def test_the_idle_limit_is_thirty_minutes_renewed_on_each_request():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST


def test_login_records_when_the_session_started(client, alice, password):
    client.post(reverse("login"), {"username": alice.email, "password": password})
    assert abs(client.session[LOGIN_AT_SESSION_KEY] - time.time()) < 5


def _age_session(client, seconds):
    session = client.session
    session[LOGIN_AT_SESSION_KEY] = int(time.time()) - seconds
    session.save()


def test_a_session_younger_than_twelve_hours_stays(client, login, alice):
    login(client, alice)
    _age_session(client, 12 * 3600 - 60)
    assert client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_a_session_older_than_twelve_hours_is_logged_out_however_active(client, login, alice):
    login(client, alice)
    _age_session(client, 12 * 3600 + 1)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated
    event = AuditEvent.objects.get(action="auth.logout", actor=alice)
    assert event.detail == {"reason": "absolute_timeout"}
