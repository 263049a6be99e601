"""The SMS provider's webhooks: delivery statuses and replies (STOP, START), signed as
Twilio signs them. Signed by the fake Twilio's own implementation of the scheme
(tests/fakes/twilio.py), checked by Twilio's library in Rapport."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from tests.alliance.conftest import log_session
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
SITE = "http://127.0.0.1:8000"


@pytest.fixture
def texted(fake_twilio, alice):
    """A text-only client whose check-in text went out as message SM1."""
    client = ClientFactory(therapist=alice, email="", phone="+14155550199", sms_consent=True)
    _, invitation = log_session(client=client)
    now = timezone.now()
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        status="sent", sent_at=now, sms_sent_at=now, expires_at=now + timedelta(days=7),
        sms_message_id="SM1", sms_status="queued",
    )
    invitation.refresh_from_db()
    return client, invitation


def _post(client, fake, name, params, *, signature=None):
    url = SITE + reverse(name)
    sig = fake.sign(url, params) if signature is None else signature
    return client.post(reverse(name), params, HTTP_X_TWILIO_SIGNATURE=sig)


def _status(fake, status, error=""):
    from tests.fakes.twilio import Message

    message = Message(sid="SM1", to="+14155550199", sender="+15005550006", body="", status_callback="")
    return fake.status_params(message, status, error)


def test_a_delivery_status_moves_forward_only(client, fake_twilio, texted):
    _, invitation = texted
    assert _post(client, fake_twilio, "sms_status", _status(fake_twilio, "delivered")).status_code == 204
    invitation.refresh_from_db()
    assert invitation.sms_status == "delivered"
    # Twilio does not promise order: a late "sent" must not move it back.
    assert _post(client, fake_twilio, "sms_status", _status(fake_twilio, "sent")).status_code == 204
    invitation.refresh_from_db()
    assert (invitation.sms_status, invitation.status) == ("delivered", "sent")


def test_an_undelivered_text_fails_the_check_in_and_says_why(client, fake_twilio, texted, login, alice):
    patient, invitation = texted
    response = _post(client, fake_twilio, "sms_status", _status(fake_twilio, "undelivered", 30003))
    assert response.status_code == 204
    invitation.refresh_from_db()
    assert (invitation.status, invitation.last_error) == ("failed", "SMS undelivered (30003)")
    login(client, alice)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert "SMS undelivered (30003)" in page
    # And it can be sent again from there.
    assert "Send again" in page or reverse("invitation_resend", args=[invitation.pk]) in page


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl", "forged"])
def test_a_forged_or_unsigned_webhook_is_refused_and_changes_nothing(client, fake_twilio, texted, signature):
    patient, invitation = texted
    params = _status(fake_twilio, "undelivered", 30003)
    assert _post(client, fake_twilio, "sms_status", params, signature=signature or "").status_code == 403
    stop = fake_twilio.incoming_params(str(patient.phone), "STOP")
    assert _post(client, fake_twilio, "sms_incoming", stop, signature=signature or "").status_code == 403
    invitation.refresh_from_db()
    patient.refresh_from_db()
    assert (invitation.status, invitation.sms_status, patient.sms_opted_out_at) == ("sent", "queued", None)


def test_a_signature_for_other_parameters_is_refused(client, fake_twilio, texted):
    """A captured signature replayed over a changed body (a status swapped) fails."""
    _, invitation = texted
    good = _status(fake_twilio, "delivered")
    signature = fake_twilio.sign(SITE + reverse("sms_status"), good)
    assert _post(client, fake_twilio, "sms_status", {**good, "MessageStatus": "failed"}, signature=signature).status_code == 403
    invitation.refresh_from_db()
    assert invitation.status == "sent"


def test_stop_stops_texts_and_cancels_what_only_a_text_could_carry(client, fake_twilio, texted, alice):
    patient, sent = texted
    _, waiting = log_session(client=patient)
    assert waiting.status == "scheduled"
    response = _post(client, fake_twilio, "sms_incoming", fake_twilio.incoming_params("+14155550199", " stop "))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    patient.refresh_from_db()
    waiting.refresh_from_db()
    assert patient.sms_opted_out_at is not None and not patient.can_receive_sms
    assert waiting.status == "cancelled"
    assert AuditEvent.objects.filter(action="client.sms_opted_out").count() == 1
    # START undoes it; new sessions get a text again.
    _post(client, fake_twilio, "sms_incoming", fake_twilio.incoming_params("+14155550199", "START"))
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None
    _, again = log_session(client=patient)
    assert again is not None and again.status == "scheduled"


def test_stop_from_a_client_who_also_takes_email_keeps_the_email(client, fake_twilio, alice):
    patient = ClientFactory(therapist=alice, phone="+14155550198", sms_consent=True)
    _, waiting = log_session(client=patient)
    _post(client, fake_twilio, "sms_incoming", fake_twilio.incoming_params("+14155550198", "STOP"))
    waiting.refresh_from_db()
    patient.refresh_from_db()
    assert waiting.status == "scheduled" and patient.checkin_channels == ["email"]


def test_other_replies_change_nothing(client, fake_twilio, texted):
    patient, _ = texted
    _post(client, fake_twilio, "sms_incoming", fake_twilio.incoming_params("+14155550199", "I felt unheard today"))
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is None


def test_webhooks_over_real_http_from_the_fake_provider(live_server, fake_twilio, settings, transactional_db):
    """The same, across a real socket: the fake POSTs to the live server, signing the
    URL it calls, which is the public SITE_URL Rapport gave it."""
    settings.SITE_URL = live_server.url
    patient = ClientFactory(email="", phone="+14155550197", sms_consent=True)
    url = live_server.url + reverse("sms_incoming")
    status, body = fake_twilio.webhook(url, fake_twilio.incoming_params("+14155550197", "STOP"))
    assert status == 200 and "<Response>" in body
    patient.refresh_from_db()
    assert patient.sms_opted_out_at is not None
    status, _ = fake_twilio.webhook(url, fake_twilio.incoming_params("+14155550197", "START"), signature="x")
    assert status == 403
