"""The clinic admin's API-key page: a key is shown once, stored as a digest, limited to
its clinic and its scopes, revocable, and says when it was last used."""

import hashlib
import re

import pytest
from django.urls import reverse

from api.models import ApiKey
from audit.models import AuditEvent
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def make_on_page(client, name="EHR sync", scopes=("clients:read", "scores:read")):
    return client.post(reverse("clinic_api_keys"), {"name": name, "scopes": list(scopes)})


def test_the_admin_makes_a_key_and_sees_its_secret_once(client, login, carol):
    login(client, carol)
    response = make_on_page(client)
    assert response.status_code == 201
    secret = re.search(r'value="(rk_[0-9a-f]{8}_[^"]+)"', response.content.decode()).group(1)
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.clinic, key.created_by) == ("EHR sync", ["clients:read", "scores:read"], carol.clinic, carol)
    assert key.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.values().get())
    listing = client.get(reverse("clinic_api_keys")).content.decode()
    assert f"rk_{key.prefix}_" in listing and secret not in listing
    row = AuditEvent.objects.get(action="api_key.create")
    assert row.actor == carol and secret not in str(row.detail)
    assert Api(secret).get(reverse("api_clients")).status_code == 200


def test_a_key_needs_a_name_and_a_scope(client, login, carol):
    login(client, carol)
    response = make_on_page(client, name="  ", scopes=())
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the key a name." in html and "Choose at least one thing the key may do." in html
    assert not ApiKey.objects.exists()


def test_the_admin_revokes_a_key_and_it_stops_working(client, login, carol, make_key):
    key, secret = make_key()
    assert Api(secret).get(reverse("api_clients")).status_code == 200
    login(client, carol)
    response = client.post(reverse("clinic_api_key_revoke", args=[key.pk]))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None and key.revoked_by == carol
    assert Api(secret).get(reverse("api_clients")).status_code == 401
    assert "Revoked" in client.get(reverse("clinic_api_keys")).content.decode()


def test_another_clinics_admin_cannot_revoke_it(client, login, make_key, other_clinic):
    from tests.factories import UserFactory

    key, _ = make_key()
    olga = UserFactory(clinic=other_clinic, role="clinic_admin")
    login(client, olga)
    assert client.post(reverse("clinic_api_key_revoke", args=[key.pk])).status_code == 404
    assert key.prefix not in client.get(reverse("clinic_api_keys")).content.decode()
    key.refresh_from_db()
    assert key.revoked_at is None


def test_a_therapist_cannot_reach_the_page(client, login, alice):
    login(client, alice)
    assert client.get(reverse("clinic_api_keys")).status_code == 403
    assert make_on_page(client).status_code == 403


def test_the_last_use_is_recorded_and_shown(client, login, carol, make_key):
    key, secret = make_key()
    assert key.last_used_at is None
    Api(secret).get(reverse("api_clients"))
    key.refresh_from_db()
    assert key.last_used_at is not None
    login(client, carol)
    assert "Never" not in client.get(reverse("clinic_api_keys")).content.decode()


def test_a_key_reaches_only_its_own_clinic(make_key, mallory):
    from tests.factories import ClientFactory

    ClientFactory(therapist=mallory, external_id="EHR-1")
    _, secret = make_key()
    assert Api(secret).get(reverse("api_clients")).json()["results"] == []


def test_the_page_costs_a_fixed_number_of_queries(client, login, carol, make_key, django_assert_max_num_queries):
    for n in range(3):
        make_key(name=f"key {n}")
    login(client, carol)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("clinic_api_keys")).status_code == 200
    for n in range(10):
        make_key(name=f"more {n}")
    with django_assert_max_num_queries(8):
        assert client.get(reverse("clinic_api_keys")).status_code == 200
