"""A client can stop the check-in emails from any email's link, with a button or with
their mail client's one-click unsubscribe."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliance.checkins import outbox
from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from clients.models import Client
from tests.alliance.conftest import log_session

pytestmark = pytest.mark.django_db


def _url(token):
    return f"/s/{token}/unsubscribe/"


def test_it_asks_for_confirmation_and_changes_nothing_on_get(client, sent_invitation):
    invitation, token = sent_invitation
    response = client.get(_url(token))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Stop check-in emails?" in html and "Harbour Clinic" in html
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is None
    assert not AuditEvent.objects.filter(action="client.opted_out").exists()


def test_it_opts_out_on_post_and_cancels_what_is_waiting(client, sent_invitation):
    invitation, token = sent_invitation
    _, waiting = log_session(client=invitation.client)
    response = client.post(_url(token))
    assert response.status_code == 200
    assert "You will not get any more check-in emails from Harbour Clinic." in response.content.decode()
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is not None
    waiting.refresh_from_db()
    assert waiting.status == "cancelled"
    event = AuditEvent.objects.get(action="client.opted_out")
    assert event.actor is None and event.object_id == str(invitation.client_id)
    # Posting again is harmless.
    assert client.post(_url(token)).status_code == 200
    assert AuditEvent.objects.filter(action="client.opted_out").count() == 1


def test_it_honours_one_click_unsubscribe_without_a_csrf_token(sent_invitation):
    from django.test import Client as Browser

    invitation, token = sent_invitation
    mail_client = Browser(enforce_csrf_checks=True)
    response = mail_client.post(
        _url(token), data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is not None


def test_the_check_in_form_works_as_browsers_send_it_under_no_referrer(sent_invitation):
    """With Referrer-Policy: no-referrer a browser posts the form with "Origin: null"
    and no Referer; the token, not a cookie, is what lets the answer in."""
    from django.test import Client as Browser

    _, token = sent_invitation
    browser = Browser(enforce_csrf_checks=True)
    response = browser.post(
        f"/s/{token}/", {"trust": "5", "empathy": "5", "boundaries": "5", "collaboration": "5"},
        HTTP_ORIGIN="null", secure=True,
    )
    assert response.status_code == 302


def test_the_link_keeps_working_after_the_check_in_is_answered_or_expired(client, sent_invitation):
    invitation, token = sent_invitation
    client.post(f"/s/{token}/", {"trust": "9", "empathy": "9", "boundaries": "9", "collaboration": "9"})
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=30))
    assert client.get(_url(token)).status_code == 200
    assert client.post(_url(token)).status_code == 200
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is not None


def test_the_link_ends_ninety_days_after_sending(client, sent_invitation):
    invitation, token = sent_invitation
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        sent_at=timezone.now() - timedelta(days=91), email_sent_at=timezone.now() - timedelta(days=91))
    response = client.post(_url(token))
    assert response.status_code == 410
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is None


def test_the_link_works_the_moment_the_email_lands_before_its_batch_ends(client, sent_invitation):
    # Its email was accepted and marked; the row is `sent` (with its sent_at) only at the
    # end of the batch, or after a retry of its other channel.
    invitation, token = sent_invitation
    SurveyInvitation.objects.filter(pk=invitation.pk).update(status="sending", sent_at=None)
    response = client.post(_url(token))
    assert response.status_code == 200
    assert Client.objects.get(pk=invitation.client_id).opted_out_at is not None


def test_an_unknown_link_gets_the_same_friendly_page(client):
    response = client.post(_url("not-a-real-token-at-all-not-a-real-token-at-all"))
    assert response.status_code == 410
    assert "This link can no longer be used" in response.content.decode()


def test_no_email_goes_to_a_client_who_opted_out_after_it_was_claimed(alice_client):
    """The opt-out lands between the sweep's claim and the worker's send."""
    _, invitation = log_session(client=alice_client)
    outbox.invitations_dispatch_due()
    invitation.refresh_from_db()
    Client.objects.filter(pk=alice_client.pk).update(opted_out_at=timezone.now())
    outcome = outbox.invitation_send(invitation_id=invitation.id, claim_id=invitation.claim_id)
    assert outcome.result == "cancelled"
    assert mail.outbox == []
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"


def test_no_reminder_goes_to_a_client_who_opted_out(sent_invitation):
    invitation, token = sent_invitation
    from alliance.checkins import services as survey

    survey.client_opt_out(client=invitation.client)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=49))
    assert outbox.invitations_remind_due() == []
    assert len(mail.outbox) == 1  # the check-in itself, and nothing after it
