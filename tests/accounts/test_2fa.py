"""Two-step login: every staff account enrols an authenticator app at first login, and
no page but the 2FA pages, logout, static files and /healthz opens before it is passed."""

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _code(device, drift=0):
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


def _password_login(client, user, password):
    response = client.post(reverse("login"), {"username": user.email, "password": password})
    assert response.status_code == 302
    return response


def test_it_sends_a_new_user_to_enrolment_after_the_password(client, alice, password):
    _password_login(client, alice, password)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url == reverse("two_factor_setup")


@pytest.mark.parametrize("name", ["home", "admin:index"])
def test_it_keeps_an_unverified_session_away_from_every_page(client, alice, password, name):
    _password_login(client, alice, password)
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("two_factor_setup"))


def test_the_second_factor_page_offers_no_menu_it_would_only_bounce_back_from(client, login, alice, password):
    _password_login(client, alice, password)
    page = client.get(reverse("two_factor_setup")).content.decode()
    assert reverse("caseload") not in page and "Needs attention" not in page
    assert "Log out" in page
    login(client, alice)
    assert reverse("caseload") in client.get(reverse("caseload")).content.decode()


def test_it_lets_an_unverified_session_reach_logout_healthz_and_static(client, alice, password):
    _password_login(client, alice, password)
    assert client.get(reverse("healthz")).status_code in (200, 503)
    assert client.post(reverse("logout")).status_code == 302
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_enrolment_shows_a_qr_code_and_confirms_with_a_code(client, alice, password):
    _password_login(client, alice, password)
    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200
    assert b"data:image/svg+xml;base64," in page.content
    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    response = client.post(reverse("two_factor_setup"), {"code": _code(device)})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 and all(code.encode() in response.content for code in codes)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("home")).status_code in (200, 302)
    assert client.get(reverse("home")).wsgi_request.user.is_verified()
    assert AuditEvent.objects.filter(action="mfa.enrolled", actor=alice).exists()


def test_enrolment_refuses_a_wrong_code(client, alice, password):
    _password_login(client, alice, password)
    client.get(reverse("two_factor_setup"))
    response = client.post(reverse("two_factor_setup"), {"code": "000000"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert not TOTPDevice.objects.filter(user=alice, confirmed=True).exists()


def test_a_user_with_an_authenticator_cannot_enrol_a_second_one_with_the_password_alone(client, alice, password):
    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    _password_login(client, alice, password)
    response = client.get(reverse("two_factor_setup"))
    assert response.status_code == 302 and response.url == reverse("two_factor_verify")
    assert client.get(reverse("home")).url.startswith(reverse("two_factor_verify"))


def test_verification_accepts_the_current_code_once(client, alice, password):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    _password_login(client, alice, password)
    code = _code(device)
    response = client.post(reverse("two_factor_verify"), {"code": code})
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("two_factor_verify")).status_code == 302  # already verified
    # The same code cannot be replayed in another session.
    other = client.__class__()
    _password_login(other, alice, password)
    assert other.post(reverse("two_factor_verify"), {"code": code}).status_code == 200
    assert AuditEvent.objects.filter(action="auth.mfa_failed", actor=alice).exists()


def test_verification_goes_on_to_the_page_first_asked_for(client, alice, password):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    _password_login(client, alice, password)
    target = reverse("healthz") + "?x=1"
    redirect = client.get(reverse("home") + "?x=1")
    assert redirect.url.startswith(reverse("two_factor_verify"))
    response = client.post(reverse("two_factor_verify") + "?next=" + target, {"code": _code(device)})
    assert response.url == target


def test_verification_ignores_a_next_url_on_another_site(client, alice, password):
    device = TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    _password_login(client, alice, password)
    response = client.post(reverse("two_factor_verify") + "?next=https://evil.example/", {"code": _code(device)})
    assert response.url == reverse("home")


def test_a_recovery_code_works_once(client, alice, password):
    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    from accounts.two_factor import recovery_codes_regenerate

    codes = recovery_codes_regenerate(user=alice)
    _password_login(client, alice, password)
    assert client.post(reverse("two_factor_verify"), {"code": codes[0].upper()}).status_code == 302
    assert StaticDevice.objects.get(user=alice).token_set.count() == 9
    client.post(reverse("logout"))
    _password_login(client, alice, password)
    assert client.post(reverse("two_factor_verify"), {"code": codes[0]}).status_code == 200
    assert AuditEvent.objects.filter(action="auth.recovery_code_used", actor=alice).exists()


def test_the_login_fixture_gives_a_verified_session(client, login, alice):
    login(client, alice)
    response = client.get(reverse("home"))
    assert response.wsgi_request.user == alice
    assert response.wsgi_request.user.is_verified()
    assert not (response.status_code == 302 and "2fa" in response.url)


def test_the_django_admin_requires_a_verified_second_factor(client, login, password):
    from tests.factories import UserFactory

    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True, clinic=None, role="clinic_admin")
    client.force_login(root)  # password only
    assert client.get(reverse("admin:index")).status_code == 302
    login(client, root)
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_admin_login_page_sends_everyone_to_our_login(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_recovery_codes_can_be_reissued_by_a_verified_user(client, login, alice):
    login(client, alice)
    response = client.post(reverse("two_factor_recovery_codes"))
    assert response.status_code == 200 and len(response.context["codes"]) == 10
