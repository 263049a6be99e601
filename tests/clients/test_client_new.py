import pytest
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

VALID = {
    "display_name": "R. M.",
    "email": "rm@example.org",
    "survey_consent": "on",
    "language": "es",
    "modality": "humanistic",
    "relationship_approach": "supportive",
}


def test_it_shows_the_form_with_an_explicit_consent_checkbox(client, login, alice):
    login(client, alice)
    response = client.get(reverse("client_new"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="checkbox" name="survey_consent"' in html
    assert "checked" not in html.split('name="survey_consent"')[1].split(">")[0]
    assert "confirm_duplicate" not in html


def test_it_adds_a_client_to_the_therapists_caseload(client, login, alice):
    login(client, alice)
    response = client.post(reverse("client_new"), VALID)
    new = Client.objects.get()
    assert response.status_code == 302 and response.url == reverse("client_detail", args=[new.pk])
    assert (new.therapist, new.clinic) == (alice, alice.clinic)
    assert new.survey_consent and new.can_receive_surveys
    assert new.language == "es" and new.modality == "humanistic"
    assert AuditEvent.objects.filter(action="client.create", object_id=str(new.pk), actor=alice).exists()


def test_it_sends_no_email_without_the_consent_box_ticked(client, login, alice):
    login(client, alice)
    client.post(reverse("client_new"), {**VALID, "survey_consent": ""})
    new = Client.objects.get()
    assert not new.survey_consent
    assert not new.can_receive_surveys


def test_it_refuses_missing_fields_with_400(client, login, alice):
    login(client, alice)
    response = client.post(reverse("client_new"), {**VALID, "display_name": "  ", "modality": "astrology"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html or "Enter a name or initials." in html
    assert "Select a valid choice" in html
    assert Client.objects.count() == 0


def test_it_refuses_an_invalid_email_with_400(client, login, alice):
    login(client, alice)
    response = client.post(reverse("client_new"), {**VALID, "email": "not-an-email"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert Client.objects.count() == 0


@pytest.mark.parametrize("field,value", [("display_name", "r. m."), ("email", "RM@example.org")])
def test_it_warns_about_a_likely_duplicate_in_the_clinic(client, login, alice, bob, field, value):
    # The existing client is in bob's caseload: same clinic, so still a likely duplicate.
    ClientFactory(therapist=bob, display_name="R. M.", email="rm@example.org")
    login(client, alice)
    other = {"display_name": "Someone Else", "email": "else@example.org"}
    response = client.post(reverse("client_new"), {**VALID, **other, field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert "already exists in your clinic" in html
    assert 'name="confirm_duplicate"' in html
    assert "bob" not in html.lower().split("</nav>")[1]  # says nothing about whose client it is
    assert Client.objects.count() == 1


def test_it_saves_a_likely_duplicate_once_confirmed(client, login, alice):
    ClientFactory(therapist=alice, display_name="R. M.")
    login(client, alice)
    response = client.post(reverse("client_new"), {**VALID, "confirm_duplicate": "on"})
    assert response.status_code == 302
    assert Client.objects.filter(display_name__iexact="r. m.").count() == 2


def test_it_ignores_namesakes_in_another_clinic(client, login, alice, mallory):
    ClientFactory(therapist=mallory, display_name="R. M.", email="rm@example.org")
    login(client, alice)
    assert client.post(reverse("client_new"), VALID).status_code == 302


def test_it_is_for_therapists_only(client, login, carol):
    login(client, carol)
    assert client.get(reverse("client_new")).status_code == 403
    assert client.post(reverse("client_new"), VALID).status_code == 403
    assert Client.objects.count() == 0
