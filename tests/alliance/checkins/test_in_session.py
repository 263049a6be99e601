"""The check-in in the session: on the client's phone (QR code or short code) and on
the therapist's device (the hand-over screen, locked until the therapist's password)."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from alliance.checkins import outbox
from alliance.models import CheckIn, SurveyInvitation
from audit.models import AuditEvent
from tests.alliance.conftest import log_session
from tests.factories import PASSWORD, ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db
ANSWERS = {"trust": "6", "empathy": "7", "boundaries": "8", "collaboration": "5", "comment": "Felt rushed at the end."}


@pytest.fixture
def therapist_client(client, login, alice):
    return login(client, alice)


def _start_phone(browser, session):
    response = browser.post(reverse("in_session_phone", args=[session.pk]))
    assert response.status_code == 200, response.content[:500]
    page = response.content.decode()
    token = re.search(r"/s/([A-Za-z0-9_-]{40,})/", page).group(1)
    code = re.search(r'data-testid="short-code">([A-Z0-9]{4}-[A-Z0-9]{4})<', page).group(1)
    return page, token, code


def test_the_qr_page_opens_the_check_in_on_the_clients_phone_and_no_email_follows(therapist_client, alice_client):
    session, invitation = log_session(client=alice_client, scheduled_start=timezone.now() - timedelta(hours=1))
    assert invitation.status == "scheduled"  # the email is waiting for its delay
    page, token, _ = _start_phone(therapist_client, session)
    assert "<svg" in page and "QR code" in page
    phone = BrowserClient()
    assert phone.get(f"/s/{token}/").status_code == 200
    assert phone.post(f"/s/{token}/", ANSWERS).status_code == 302
    checkin = CheckIn.objects.get(session=session, source="client")
    assert (checkin.channel, checkin.total, checkin.comment) == ("in_session_phone", 26, "Felt rushed at the end.")
    invitation.refresh_from_db()
    assert (invitation.status, invitation.answered_channel) == ("answered", "in_session_phone")
    # The email that was waiting is never sent: the sweep has nothing to claim.
    SurveyInvitation.objects.filter(pk=invitation.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    assert outbox.invitations_dispatch_due() == []
    # The QR code used again: the same page as any dead link.
    assert phone.get(f"/s/{token}/").status_code == 410
    assert phone.post(f"/s/{token}/", ANSWERS).status_code == 410
    assert CheckIn.objects.filter(session=session, source="client").count() == 1
    # The therapist's page asking "answered yet?" says so.
    assert therapist_client.get(reverse("in_session_status", args=[invitation.pk])).json() == {"answered": True}


def test_a_client_with_no_email_or_consent_can_answer_in_the_session(therapist_client, alice):
    patient = ClientFactory(therapist=alice, email="", survey_consent=False)
    session = SessionFactory(client=patient, scheduled_start=timezone.now() - timedelta(hours=1))
    assert not SurveyInvitation.objects.filter(session=session).exists()
    _, token, _ = _start_phone(therapist_client, session)
    assert BrowserClient().post(f"/s/{token}/", ANSWERS).status_code == 302
    assert CheckIn.objects.get(session=session, source="client").channel == "in_session_phone"


def test_the_short_code_opens_the_same_check_in(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    _, _, code = _start_phone(therapist_client, session)
    phone = BrowserClient()
    assert phone.get(reverse("checkin_code")).status_code == 200
    typed = code.lower().replace("-", " ")  # as a client might type it
    response = phone.post(reverse("checkin_code"), {"code": typed})
    assert response.status_code == 302
    assert phone.get(response["Location"]).status_code == 200
    assert phone.post(response["Location"], ANSWERS).status_code == 302
    assert CheckIn.objects.get(session=session, source="client").channel == "in_session_phone"
    # Used once: the code no longer opens anything.
    again = phone.post(reverse("checkin_code"), {"code": code})
    assert again.status_code == 400 and "did not work" in again.content.decode()


def test_a_wrong_code_is_told_so(client):
    response = client.post(reverse("checkin_code"), {"code": "ABCD-EFGH"})
    assert response.status_code == 400
    assert "That code did not work" in response.content.decode()


def test_starting_again_kills_the_previous_qr_code(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    _, first, first_code = _start_phone(therapist_client, session)
    _, second, _ = _start_phone(therapist_client, session)
    phone = BrowserClient()
    assert phone.get(f"/s/{first}/").status_code == 410
    assert phone.post(reverse("checkin_code"), {"code": first_code}).status_code == 400
    assert phone.get(f"/s/{second}/").status_code == 200


def test_the_in_session_link_lives_only_minutes(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    _, token, _ = _start_phone(therapist_client, session)
    SurveyInvitation.objects.filter(session=session).update(
        in_session_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert BrowserClient().get(f"/s/{token}/").status_code == 410


def test_it_cannot_start_for_an_answered_or_unattended_session(therapist_client, alice_client):
    no_show = SessionFactory(client=alice_client, attendance="no_show")
    response = therapist_client.post(reverse("in_session_phone", args=[no_show.pk]))
    assert response.status_code == 409 and "Only an attended session" in response.content.decode()
    session, _ = log_session(client=alice_client)
    _, token, _ = _start_phone(therapist_client, session)
    BrowserClient().post(f"/s/{token}/", ANSWERS)
    response = therapist_client.post(reverse("handover_start", args=[session.pk]))
    assert response.status_code == 409 and "already answered" in response.content.decode()
    page = therapist_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "Check-in now" not in page


def test_the_session_page_offers_check_in_now(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    page = therapist_client.get(reverse("session_detail", args=[session.pk])).content.decode()
    assert "Check-in now" in page
    assert reverse("in_session_phone", args=[session.pk]) in page and reverse("handover_start", args=[session.pk]) in page


def test_another_therapists_session_cannot_be_started(therapist_client, bob_client):
    session, _ = log_session(client=bob_client)
    assert therapist_client.post(reverse("in_session_phone", args=[session.pk])).status_code == 404
    assert therapist_client.post(reverse("handover_start", args=[session.pk])).status_code == 404
    assert not SurveyInvitation.objects.filter(session=session, in_session_token_hash__isnull=False).exists()


# --- The hand-over screen -----------------------------------------------------------------


def _hand_over(browser, session):
    response = browser.post(reverse("handover_start", args=[session.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("handover_checkin")
    return browser


STAFF_PAGES = ["caseload", "needs_attention", "home"]


def test_the_handed_over_device_reaches_nothing_but_the_check_in(therapist_client, alice_client, alice):
    session, _ = log_session(client=alice_client)
    _hand_over(therapist_client, session)
    screen = therapist_client.get(reverse("handover_checkin"))
    page = screen.content.decode()
    assert screen.status_code == 200 and "no-store" in screen["Cache-Control"]
    assert alice_client.display_name not in page and "Caseload" not in page and alice.full_name not in page
    for name in STAFF_PAGES:
        response = therapist_client.get(reverse(name))
        assert response.status_code == 302 and response["Location"] == reverse("handover_checkin"), name
    for path in (reverse("client_detail", args=[alice_client.pk]), reverse("session_detail", args=[session.pk]),
                 reverse("session_edit", args=[session.pk]), "/clinic/", "/admin/"):
        assert therapist_client.get(path)["Location"] == reverse("handover_checkin"), path
    # Writes too: nothing is saved behind the lock.
    response = therapist_client.post(reverse("session_new", args=[alice_client.pk]), {})
    assert response.status_code == 302 and response["Location"] == reverse("handover_checkin")


def test_the_client_answers_on_the_handed_device_and_the_therapist_takes_it_back(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    _hand_over(therapist_client, session)
    response = therapist_client.post(reverse("handover_checkin"), ANSWERS)
    assert response.status_code == 302 and response["Location"] == reverse("handover_thanks")
    checkin = CheckIn.objects.get(session=session, source="client")
    assert checkin.channel == "in_session_device"
    thanks = therapist_client.get(reverse("handover_thanks")).content.decode()
    assert "hand the device back" in thanks
    # Still locked after the answer; the token is gone from the session.
    assert therapist_client.get(reverse("caseload"))["Location"] == reverse("handover_checkin")
    assert therapist_client.get(reverse("handover_checkin"))["Location"] == reverse("handover_thanks")
    old_key = therapist_client.cookies[settings.SESSION_COOKIE_NAME].value
    wrong = therapist_client.post(reverse("handover_unlock"), {"password": "guess"})
    assert wrong.status_code == 400 and "4 tries left" in wrong.content.decode()
    right = therapist_client.post(reverse("handover_unlock"), {"password": PASSWORD})
    assert right.status_code == 302 and right["Location"] == reverse("session_detail", args=[session.pk])
    assert therapist_client.cookies[settings.SESSION_COOKIE_NAME].value != old_key
    assert therapist_client.get(reverse("caseload")).status_code == 200
    assert AuditEvent.objects.filter(action="handover.unlocked").count() == 1


def test_guessing_the_password_logs_the_device_out(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    _hand_over(therapist_client, session)
    for _ in range(4):
        assert therapist_client.post(reverse("handover_unlock"), {"password": "guess"}).status_code == 400
    response = therapist_client.post(reverse("handover_unlock"), {"password": "guess"})
    assert response.status_code == 302 and response["Location"] == reverse("login")
    # Logged out: the caseload asks for a full login (password and second factor).
    assert therapist_client.get(reverse("caseload"))["Location"].startswith(reverse("login"))


def test_the_hand_over_screen_refuses_bad_answers_and_keeps_the_lock(therapist_client, alice_client):
    session, _ = log_session(client=alice_client)
    alice_client.language = "es"
    alice_client.save(update_fields=["language"])
    _hand_over(therapist_client, session)
    response = therapist_client.post(reverse("handover_checkin"), {**ANSWERS, "trust": "11"})
    assert response.status_code == 400
    assert 'lang="es"' in response.content.decode()  # the client's language
    assert not CheckIn.objects.filter(session=session, source="client").exists()
