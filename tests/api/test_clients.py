"""Clients through the API, by the clinic's own external id: created, read, updated and
discharged by the same services as the therapist's pages, each audited."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client
from tests.api.conftest import error_of
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def new_client(therapist, **overrides):
    body = {
        "external_id": "EHR-1001", "therapist": therapist.pk, "display_name": "  M.  R. ", "email": "MR@Example.org",
        "survey_consent": True, "modality": "cbt", "relationship_approach": "collaborative",
    }
    body.update(overrides)
    return body


def test_it_creates_a_client_in_the_therapists_caseload(api, alice, carol):
    response = api.post(reverse("api_clients"), new_client(alice))
    assert response.status_code == 201, response.content
    client = Client.objects.get(external_id="EHR-1001")
    assert (client.therapist, client.clinic, client.display_name, client.email) == (alice, alice.clinic, "M. R.", "mr@example.org")
    body = response.json()
    assert body["external_id"] == "EHR-1001" and body["therapist"] == alice.pk and body["status"] == "active"
    row = AuditEvent.objects.get(action="client.create")
    assert row.actor == carol and row.detail["api_key"] == api.key.prefix and "external_id" in row.detail["fields"]


def test_it_refuses_an_external_id_already_in_the_clinic(api, alice):
    ClientFactory(therapist=alice, external_id="EHR-1001")
    response = api.post(reverse("api_clients"), new_client(alice, display_name="Someone else"))
    assert response.status_code == 409
    assert error_of(response)["fields"] == {"external_id": ["A client with this external id already exists in your clinic."]}
    assert Client.objects.count() == 1


def test_the_same_external_id_may_exist_in_another_clinic(api, alice, mallory):
    ClientFactory(therapist=mallory, external_id="EHR-1001")
    assert api.post(reverse("api_clients"), new_client(alice)).status_code == 201
    assert Client.objects.filter(external_id="EHR-1001").count() == 2


def test_a_therapist_of_another_clinic_is_not_a_choice(api, mallory):
    response = api.post(reverse("api_clients"), new_client(mallory))
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"therapist": ["No active therapist with this id in your clinic."]}
    assert not Client.objects.exists()


def test_it_updates_only_the_fields_sent(api, alice):
    client = ClientFactory(therapist=alice, external_id="EHR-7", display_name="A.B.", language="en")
    response = api.patch(reverse("api_client", args=["EHR-7"]), {"language": "es"})
    assert response.status_code == 200, response.content
    client.refresh_from_db()
    assert (client.language, client.display_name) == ("es", "A.B.")
    assert AuditEvent.objects.get(action="client.update").detail["fields"] == ["language"]


def test_it_will_not_move_a_client_to_another_caseload_by_patch(api, alice, bob):
    client = ClientFactory(therapist=alice, external_id="EHR-7")
    response = api.patch(reverse("api_client", args=["EHR-7"]), {"therapist": bob.pk})
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"therapist": ["This field is read-only."]}
    client.refresh_from_db()
    assert client.therapist == alice


def test_it_discharges_a_client(api, alice):
    client = ClientFactory(therapist=alice, external_id="EHR-7")
    response = api.post(reverse("api_client_discharge", args=["EHR-7"]))
    assert response.status_code == 200
    client.refresh_from_db()
    assert client.status == Client.Status.DISCHARGED and response.json()["discharged_at"]


def test_it_lists_clients_changed_since_a_moment(api, alice, mallory):
    old = ClientFactory(therapist=alice, external_id="OLD")
    Client.objects.filter(pk=old.pk).update(updated_at="2020-01-01T00:00:00Z")
    ClientFactory(therapist=alice, external_id="NEW")
    ClientFactory(therapist=mallory, external_id="THEIRS")
    everything = api.get(reverse("api_clients")).json()
    assert [c["external_id"] for c in everything["results"]] == ["OLD", "NEW"]
    recent = api.get(reverse("api_clients"), {"updated_since": "2024-01-01T00:00:00Z"}).json()
    assert [c["external_id"] for c in recent["results"]] == ["NEW"]


def test_a_long_list_is_walked_by_cursor(api, alice):
    for n in range(5):
        ClientFactory(therapist=alice, external_id=f"C{n}")
    seen, url, params = [], reverse("api_clients"), {"page_size": 2}
    while url:
        page = api.get(url, params).json()
        seen += [c["external_id"] for c in page["results"]]
        url, params = page["next"], None
    assert seen == [f"C{n}" for n in range(5)]
