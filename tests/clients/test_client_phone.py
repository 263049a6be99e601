"""A client's mobile number: validated and stored in E.164 by the ecosystem's library
(django-phonenumber-field), with a consent of its own."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from clients.models import Client
from clients.services import client_update
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

VALID = {
    "display_name": "R.Q.", "email": "", "language": "en", "modality": "cbt", "relationship_approach": "collaborative",
}


@pytest.fixture
def therapist_client(client, login, alice):
    return login(client, alice)


def test_a_national_number_is_stored_in_e164(therapist_client, settings):
    settings.PHONENUMBER_DEFAULT_REGION = "US"
    response = therapist_client.post(reverse("client_new"), {**VALID, "phone": "(415) 555-0134", "sms_consent": "on"})
    assert response.status_code == 302
    saved = Client.objects.get(display_name="R.Q.")
    assert str(saved.phone) == "+14155550134" and saved.sms_consent
    assert saved.checkin_channels == ["sms"]
    # The audit row names the fields, never the number.
    event = AuditEvent.objects.get(action="client.create")
    assert "4155550134" not in str(event.detail)


def test_the_numbers_the_form_gives_as_examples_are_accepted(therapist_client, settings):
    """A therapist who types the example the form shows must not be told it is invalid."""
    import re

    from clients.forms import ClientForm

    settings.PHONENUMBER_DEFAULT_REGION = "US"
    examples = re.findall(r"\(?\+?[\d()][\d ()-]{7,}\d", " ".join(
        [str(ClientForm.Meta.help_texts["phone"]), str(ClientForm.Meta.error_messages["phone"]["invalid"])]
    ))
    assert len(examples) == 3, examples
    for n, number in enumerate(examples):
        response = therapist_client.post(reverse("client_new"), {**VALID, "display_name": f"E.{n}", "phone": number})
        assert response.status_code == 302, (number, response.content.decode()[:300])


@pytest.mark.parametrize("number", ["12", "+1 555", "not a number", "+44 12"])
def test_an_invalid_number_is_refused_with_a_message_and_nothing_saved(therapist_client, number):
    response = therapist_client.post(reverse("client_new"), {**VALID, "phone": number, "sms_consent": "on"})
    assert response.status_code == 400
    assert "Enter a valid mobile number" in response.content.decode()
    assert not Client.objects.filter(display_name="R.Q.").exists()


def test_consent_to_texts_needs_a_number(therapist_client):
    response = therapist_client.post(reverse("client_new"), {**VALID, "sms_consent": "on"})
    assert response.status_code == 400
    assert "Enter the number the client agreed to be texted at" in response.content.decode()
    assert not Client.objects.filter(display_name="R.Q.").exists()


def test_a_new_number_lifts_a_stop_sent_from_the_old_one(alice):
    from django.utils import timezone

    patient = ClientFactory(therapist=alice, phone="+14155550135", sms_consent=True, sms_opted_out_at=timezone.now())
    assert patient.checkin_channels == ["email"]
    data = {f: getattr(patient, f) for f in ("display_name", "email", "survey_consent", "sms_consent", "language",
                                              "modality", "relationship_approach")}
    client_update(client=patient, by=alice, data={**data, "phone": "+14155550136"})
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None and patient.checkin_channels == ["email", "sms"]


def test_the_client_page_says_how_the_client_is_asked(therapist_client, alice):
    from django.utils import timezone

    both = ClientFactory(therapist=alice, phone="+14155550137", sms_consent=True)
    page = therapist_client.get(reverse("client_detail", args=[both.pk])).content.decode()
    assert "Check-ins: by email and text" in page
    stopped = ClientFactory(therapist=alice, email="", phone="+14155550138", sms_consent=True,
                            sms_opted_out_at=timezone.now())
    page = therapist_client.get(reverse("client_detail", args=[stopped.pk])).content.decode()
    assert "Check-ins: in session only (texts stopped" in page


def test_the_day_a_client_stopped_texts_is_the_clinics_day(therapist_client, alice, clinic):
    """23:30 UTC on 1 March is 2 March in Auckland: the page says the clinic's day."""
    from datetime import datetime, timezone as dt_timezone

    clinic.timezone = "Pacific/Auckland"
    clinic.save(update_fields=["timezone"])
    stopped = ClientFactory(therapist=alice, email="", phone="+14155550139", sms_consent=True,
                            sms_opted_out_at=datetime(2026, 3, 1, 23, 30, tzinfo=dt_timezone.utc))
    page = therapist_client.get(reverse("client_detail", args=[stopped.pk])).content.decode()
    assert "texts stopped 2 Mar 2026" in page
