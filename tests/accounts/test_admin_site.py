"""The Django admin is for platform operators: staff members of a clinic get a plain 403
instead of a redirect loop, and nobody reads a second-factor secret there."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_a_therapist_or_clinic_admin_gets_a_403_page_not_a_redirect_loop(client, login, request, who):
    login(client, request.getfixturevalue(who))
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2
    assert "Rapport" in response.content.decode()


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("login"))


def test_a_verified_superuser_reaches_the_admin_but_no_totp_secret(client, login, alice):
    operator = UserFactory(email="root@example.com", is_staff=True, is_superuser=True, clinic=None, role="clinic_admin")
    login(client, operator)
    assert client.get(reverse("admin:index")).status_code == 200
    device = TOTPDevice.objects.create(user=alice, name="Authenticator app", confirmed=True)
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert device.key not in text
    assert "qrcode" not in text.lower()
    assert client.get(reverse("admin:otp_totp_totpdevice_config", args=[device.pk])).status_code in (403, 404)
