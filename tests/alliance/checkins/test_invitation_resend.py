"""A therapist can send a failed or expired check-in again, for their own clients only."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliance.checkins import outbox
from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from tests.alliance.conftest import send_inline, token_of

pytestmark = pytest.mark.django_db


def _url(invitation):
    return f"/s/manage/{invitation.id}/resend/"


@pytest.fixture
def expired(sent_invitation):
    invitation, token = sent_invitation
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    outbox.invitations_expire()
    invitation.refresh_from_db()
    return invitation, token


def test_it_schedules_an_expired_check_in_again_now(client, login, alice, expired):
    invitation, old_token = expired
    login(client, alice)
    response = client.post(_url(invitation))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "scheduled" and invitation.attempts == 0
    assert invitation.due_at <= timezone.now()
    assert AuditEvent.objects.filter(action="invitation.resend", actor=alice).exists()
    # It goes out with a new link; the old one stays dead.
    assert send_inline(invitation).result == "sent"
    new_token = token_of(mail.outbox[-1])
    assert new_token != old_token
    assert client.get(f"/s/{old_token}/").status_code == 410
    assert client.get(f"/s/{new_token}/").status_code == 200


def test_it_resends_a_failed_check_in(client, login, alice, alice_client):
    from tests.alliance.conftest import log_session

    _, invitation = log_session(client=alice_client)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(status="failed", attempts=5, last_error="SMTP 550")
    login(client, alice)
    client.post(_url(invitation))
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts, invitation.last_error) == ("scheduled", 0, "")


def test_it_is_404_for_another_therapist_and_another_clinic(client, login, bob, mallory, carol, expired):
    invitation, _ = expired
    for user in (bob, mallory, carol):
        login(client, user)
        assert client.post(_url(invitation)).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "expired"


def test_it_needs_a_login_and_a_post(client, login, alice, expired):
    invitation, _ = expired
    assert client.post(_url(invitation)).status_code == 302  # to the login page
    login(client, alice)
    assert client.get(_url(invitation)).status_code == 405


def test_it_will_not_resend_what_was_sent_or_answered(client, login, alice, sent_invitation):
    invitation, _ = sent_invitation
    login(client, alice)
    client.post(_url(invitation))
    invitation.refresh_from_db()
    assert invitation.status == "sent"


def test_the_button_shows_only_for_what_can_be_resent(expired, sent_invitation):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    invitation, _ = expired
    html = render_to_string("survey/resend_button.html", {"invitation": invitation}, request=request)
    assert f'action="/s/manage/{invitation.id}/resend/"' in html
    invitation.status = "sent"
    assert "form" not in render_to_string("survey/resend_button.html", {"invitation": invitation}, request=request)
