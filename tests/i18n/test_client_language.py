"""A client reads everything in their own language, whatever their browser says: the
check-in page, its errors, the thank-you and unsubscribe pages, the email and the text.
A link that no longer works cannot know whose it was, so it follows the browser."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from alliance.models import SurveyInvitation
from clients.models import Client
from tests.factories import ClientFactory

from .conftest import log_session, send_inline, token_of

pytestmark = pytest.mark.django_db

ANSWERS = {"trust": "9", "empathy": "8", "boundaries": "10", "collaboration": "7", "comment": ""}

# One item of the check-in and the submit button, per language, as a client reads them.
EXPECTED = {
    "en": ("I could trust my therapist in this session.", "Send my answers", "ltr"),
    "es": ("Pude confiar en mi terapeuta en esta sesión.", "Enviar mis respuestas", "ltr"),
    "fr": ("J&#x27;ai pu faire confiance à mon thérapeute pendant cette séance.", "Envoyer mes réponses", "ltr"),
    "de": ("Ich konnte meiner Therapeutin oder meinem Therapeuten in dieser Sitzung vertrauen.",
           "Antworten senden", "ltr"),
    "pt-br": ("Pude confiar no meu terapeuta nesta sessão.", "Enviar minhas respostas", "ltr"),
    "ar": ("استطعتُ أن أثق بمعالجي في هذه الجلسة.", "إرسال إجاباتي", "rtl"),
}


def _as_client_language(invitation, language):
    Client.objects.filter(pk=invitation.client_id).update(language=language)


@pytest.mark.parametrize("language", list(EXPECTED))
def test_the_check_in_page_is_in_the_clients_language_whatever_the_browser_says(client, sent_invitation, language):
    invitation, token = sent_invitation
    _as_client_language(invitation, language)
    # A browser set to another language entirely: it must not matter.
    browser_language = "de" if language != "de" else "fr"
    response = client.get(reverse("survey_checkin", args=[token]), HTTP_ACCEPT_LANGUAGE=browser_language)
    html = response.content.decode()
    item, submit, direction = EXPECTED[language]
    assert response.status_code == 200
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert response["Content-Language"] == language
    assert item in html and submit in html
    if direction == "rtl":
        assert "bootstrap.rtl.min.css" in html
    else:
        assert "bootstrap.min.css" in html and "rtl" not in html.split("</head>")[0].split("<html")[1].split(">", 1)[1]


def test_a_spanish_clients_errors_thanks_and_unsubscribe_are_spanish(client, sent_invitation):
    invitation, token = sent_invitation
    _as_client_language(invitation, "es")
    url = reverse("survey_checkin", args=[token])
    bad = client.post(url, {**ANSWERS, "trust": "", "comment": "x" * 2001}, HTTP_ACCEPT_LANGUAGE="en")
    html = bad.content.decode()
    assert bad.status_code == 400
    assert "Faltan algunas respuestas" in html
    assert "Elija un número del 0 al 10." in html
    # The limit is grouped the Spanish way (Django's es formats: a non-breaking space), not "2,000".
    assert "Su comentario puede tener como máximo 2\xa0000 caracteres." in html
    assert "Hasta 2\xa0000 caracteres." in html
    assert "2,000" not in html
    # The ends of the scale, in Spanish, read out with 0 and 10.
    assert "0 = nada" in html and "10 = totalmente" in html

    done = client.post(url, ANSWERS, HTTP_ACCEPT_LANGUAGE="en")
    assert done.status_code == 302
    thanks = client.get(done["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Gracias" in thanks and "Sus respuestas se han enviado." in thanks

    unsubscribe = reverse("survey_unsubscribe", args=[token])
    page = client.get(unsubscribe, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¿Dejar de recibir estos correos?" in page and "Harbour Clinic" in page
    done = client.post(unsubscribe, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No recibirá más correos con el cuestionario de Harbour Clinic." in done
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is not None


def test_the_expiry_date_follows_the_clients_language(client, sent_invitation):
    invitation, token = sent_invitation
    _as_client_language(invitation, "es")
    html = client.get(reverse("survey_checkin", args=[token])).content.decode()
    month = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre"]
    assert re.search(r"Este enlace funciona hasta el \d{1,2} de (%s) de \d{4} a las \d{2}:\d{2}" % "|".join(month), html)
    _as_client_language(invitation, "de")
    html = client.get(reverse("survey_checkin", args=[token])).content.decode()
    assert re.search(r"Dieser Link gilt bis \d{1,2}\. \w+ \d{4} \d{1,2}:\d{2}", html)


def test_a_link_that_no_longer_works_follows_the_browser_and_says_the_same_for_every_link(client, sent_invitation):
    invitation, token = sent_invitation
    _as_client_language(invitation, "es")
    assert client.post(reverse("survey_checkin", args=[token]), ANSWERS).status_code == 302
    answered = client.get(reverse("survey_checkin", args=[token]), HTTP_ACCEPT_LANGUAGE="fr")
    unknown = client.get(reverse("survey_checkin", args=["x" * 43]), HTTP_ACCEPT_LANGUAGE="fr")
    assert answered.status_code == unknown.status_code == 410
    assert answered.content == unknown.content
    assert "Ce lien ne peut plus être utilisé" in answered.content.decode()
    arabic = client.get(reverse("survey_checkin", args=["x" * 43]), HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in arabic and "لم يعد من الممكن استخدام هذا الرابط" in arabic


def test_a_mistyped_address_gets_the_404_page_in_the_browsers_language(client):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.9")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="pt-br"' in html and "Não encontramos essa página" in html


@pytest.mark.parametrize(
    "language, subject, phrase",
    [
        ("es", "Un cuestionario de un minuto de Harbour Clinic", "Responda aquí:"),
        ("fr", "Un questionnaire d'une minute de Harbour Clinic", "Répondez ici :"),
        ("de", "Eine Rückmeldung von einer Minute für Harbour Clinic", "Hier antworten:"),
        ("pt-br", "Um questionário de um minuto de Harbour Clinic", "Responda aqui:"),
        ("ar", "استبيان لمدة دقيقة واحدة من Harbour Clinic", "أجب من هنا:"),
    ],
)
def test_the_check_in_email_is_in_the_clients_language(alice, language, subject, phrase):
    patient = ClientFactory(therapist=alice, language=language)
    _, invitation = log_session(client=patient)
    assert send_inline(invitation).result == "sent"
    message = mail.outbox[-1]
    html = message.alternatives[0][0]
    assert message.subject == subject
    assert phrase in message.body
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language}" dir="{direction}">' in html
    # The link still works, and nothing of it is translated away.
    assert f"/s/{token_of(message)}/" in message.body


def test_a_spanish_client_gets_a_spanish_text_with_nothing_clinical(alice, fake_twilio):
    patient = ClientFactory(
        therapist=alice, language="es", email="", survey_consent=False, phone="+34911234567", sms_consent=True,
        display_name="Lucía Gómez",
    )
    _, invitation = log_session(client=patient)
    assert send_inline(invitation).result == "sent"
    [text] = fake_twilio.received()
    assert text.to == "+34911234567"
    assert text.body.startswith("Harbour Clinic: tiene un cuestionario de un minuto: http://127.0.0.1:8000/s/")
    assert text.body.endswith("Responda STOP para no recibir más mensajes.")
    assert "Lucía" not in text.body and "Gómez" not in text.body
    assert SurveyInvitation.objects.get(pk=invitation.pk).sms_sent_at is not None


def test_a_language_rapport_does_not_write_falls_back_to_english(client, sent_invitation):
    invitation, token = sent_invitation
    _as_client_language(invitation, "xx")
    html = client.get(reverse("survey_checkin", args=[token]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<html lang="en" dir="ltr">' in html and "Send my answers" in html
