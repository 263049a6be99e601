"""The check-in email says who it is from and where to answer, and nothing clinical."""

import pytest
from django.core import mail

from alliance.models import CheckIn, SurveyInvitation
from tests.alliance.conftest import log_session, send_inline, token_of
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def _sent_email(client, **session):
    _, invitation = log_session(client=client, **session)
    assert send_inline(invitation).result == "sent"
    return mail.outbox[-1], invitation


def test_it_names_the_clinic_and_nothing_clinical(alice, clinic):
    client = ClientFactory(therapist=alice, display_name="Jordan Díaz", email="jordan@example.org")
    message, invitation = _sent_email(client)
    html = message.alternatives[0][0]
    everything = "\n".join([message.subject, message.body, html, str(message.extra_headers)])
    assert "Harbour Clinic" in message.subject
    assert "Harbour Clinic" in message.body and "Harbour Clinic" in html
    assert message.to == ["jordan@example.org"]
    assert message.from_email == "Harbour Clinic <no-reply@rapport.localhost>"
    for secret in ["Alice", "Therapist", "alice@example.com", "Jordan", "Díaz", "J.D.", "session", "score", "/40"]:
        assert secret.lower() not in everything.lower(), secret
    # The link and the expiry, in the body.
    token = token_of(message)
    assert f"http://127.0.0.1:8000/s/{token}/" in message.body
    assert f'href="http://127.0.0.1:8000/s/{token}/"' in html
    assert "works until" in message.body


def test_it_carries_one_click_unsubscribe_headers(alice_client):
    message, _ = _sent_email(alice_client)
    token = token_of(message)
    assert message.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000/s/{token}/unsubscribe/>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/s/{token}/unsubscribe/" in message.body
    # And they survive into the message as it goes over the wire.
    wire = message.message()
    assert wire["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_it_writes_to_a_spanish_speaking_client_in_spanish(alice):
    client = ClientFactory(therapist=alice, language="es")
    message, _ = _sent_email(client)
    assert message.subject == "Un cuestionario de un minuto de Harbour Clinic"
    assert "Responda aquí" in message.body
    assert "Este enlace funciona hasta el" in message.body
    assert "Responder al cuestionario" in message.alternatives[0][0]
    # Month names come out in Spanish too.
    months = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
              "septiembre", "octubre", "noviembre", "diciembre"]
    assert any(f" de {m} de " in message.body for m in months)


def test_it_writes_to_an_english_speaking_client_in_english(alice_client):
    message, _ = _sent_email(alice_client)
    assert message.subject == "A one-minute check-in from Harbour Clinic"
    assert "Answer here" in message.body


def test_it_stores_only_the_digest_of_the_token(alice_client):
    message, invitation = _sent_email(alice_client)
    token = token_of(message)
    invitation.refresh_from_db()
    assert len(token) >= 43  # 256 bits, base64url
    assert token not in invitation.token_hash
    import hashlib

    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert invitation.status == SurveyInvitation.Status.SENT
    # The link lasts the clinic's seven days from the attempt that sent it, to the whole
    # minute (set as the attempt starts, so the email states the row's own expiry).
    from datetime import timedelta

    assert invitation.expires_at.second == invitation.expires_at.microsecond == 0
    assert timedelta(days=7) - timedelta(minutes=1) < invitation.expires_at - invitation.sent_at <= timedelta(days=7)
