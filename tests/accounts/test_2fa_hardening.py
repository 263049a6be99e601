"""The second factor starts a new session, and a reused code is named as such."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


def _code(device):
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def _password_login(client, user, password):
    assert client.post(reverse("login"), {"username": user.email, "password": password}).status_code == 302
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _cookie_alone(key):
    """A browser that holds only a copy of the cookie, as an attacker who captured it."""
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = key
    return other


def test_verifying_the_code_rotates_the_session_key(client, alice, password):
    device = TOTPDevice.objects.create(user=alice, name="app", confirmed=True)
    captured = _password_login(client, alice, password)
    response = client.post(reverse("two_factor_verify"), {"code": _code(device)})
    assert response.status_code == 302
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != captured
    assert client.get(reverse("caseload")).status_code == 200
    # The cookie captured before the code is worth nothing now.
    stolen = _cookie_alone(captured).get(reverse("caseload"))
    assert stolen.status_code == 302 and reverse("login") in stolen.url


def test_enrolling_rotates_the_session_key(client, alice, password):
    captured = _password_login(client, alice, password)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": _code(device)})
    assert response.status_code == 200 and TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != captured
    stolen = _cookie_alone(captured).get(reverse("caseload"))
    assert stolen.status_code == 302 and reverse("login") in stolen.url


def test_a_code_used_once_is_named_as_already_used(client, alice, password):
    device = TOTPDevice.objects.create(user=alice, name="app", confirmed=True)
    code = _code(device)
    _password_login(client, alice, password)
    assert client.post(reverse("two_factor_verify"), {"code": code}).status_code == 302
    client.post(reverse("logout"))

    again = Client()
    _password_login(again, alice, password)
    page = again.post(reverse("two_factor_verify"), {"code": code})
    assert page.status_code == 200
    text = page.content.decode()
    assert "already been used" in text and "next code" in text
    assert "did not match" not in text


def test_a_wrong_code_is_still_told_it_did_not_match(client, alice, password):
    device = TOTPDevice.objects.create(user=alice, name="app", confirmed=True)
    wrong = f"{(int(_code(device)) + 1) % 1_000_000:06d}"
    _password_login(client, alice, password)
    text = client.post(reverse("two_factor_verify"), {"code": wrong}).content.decode()
    assert "did not match" in text and "already been used" not in text
