import pytest
from django.urls import reverse

from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from tests.clients.factories import InvitationFactory
from tests.factories import ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _data(c, **overrides):
    data = {
        "display_name": c.display_name, "email": c.email, "survey_consent": "on" if c.survey_consent else "",
        "language": c.language, "modality": c.modality, "relationship_approach": c.relationship_approach,
    }
    data.update(overrides)
    return data


def test_it_shows_the_clients_details(client, login, alice, alice_client):
    login(client, alice)
    response = client.get(reverse("client_edit", args=[alice_client.pk]))
    assert response.status_code == 200
    assert response.context["form"]["display_name"].value() == "J.D."


def test_it_saves_changes_and_audits_the_field_names(client, login, alice, alice_client):
    login(client, alice)
    response = client.post(reverse("client_edit", args=[alice_client.pk]), _data(alice_client, modality="psychodynamic"))
    assert response.status_code == 302
    alice_client.refresh_from_db()
    assert alice_client.modality == "psychodynamic"
    event = AuditEvent.objects.get(action="client.update")
    assert event.detail == {"fields": ["modality"]}


def test_it_does_not_call_the_client_a_duplicate_of_itself(client, login, alice, alice_client):
    login(client, alice)
    response = client.post(reverse("client_edit", args=[alice_client.pk]), _data(alice_client, language="es"))
    assert response.status_code == 302


def test_it_warns_when_the_new_name_matches_another_client(client, login, alice, alice_client):
    ClientFactory(therapist=alice, display_name="Ann")
    login(client, alice)
    response = client.post(reverse("client_edit", args=[alice_client.pk]), _data(alice_client, display_name="ANN"))
    assert response.status_code == 400
    assert "already exists in your clinic" in response.content.decode()
    alice_client.refresh_from_db()
    assert alice_client.display_name == "J.D."


def test_it_cancels_pending_check_ins_when_consent_is_withdrawn(client, login, alice, alice_client):
    pending = InvitationFactory(session=SessionFactory(client=alice_client), status=SurveyInvitation.Status.SCHEDULED)
    login(client, alice)
    client.post(reverse("client_edit", args=[alice_client.pk]), _data(alice_client, survey_consent=""))
    pending.refresh_from_db()
    assert pending.status == SurveyInvitation.Status.CANCELLED


def test_it_answers_404_for_another_therapists_client(client, login, alice, bob_client):
    login(client, alice)
    assert client.get(reverse("client_edit", args=[bob_client.pk])).status_code == 404
    response = client.post(reverse("client_edit", args=[bob_client.pk]), _data(bob_client, display_name="Hacked"))
    assert response.status_code == 404
    bob_client.refresh_from_db()
    assert bob_client.display_name == "K.L."
