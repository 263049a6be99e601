"""The outbox's claims in one process: a task delivered twice, a claim that lapsed, a
resend. The multi-process versions are in test_outbox_worker.py."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliance.checkins import outbox
from alliance.models import SurveyInvitation
from tests.alliance.conftest import log_session

pytestmark = pytest.mark.django_db


def _claimed(client):
    _, invitation = log_session(client=client)
    assert outbox.invitations_dispatch_due() == [invitation.id]
    invitation.refresh_from_db()
    assert invitation.status == "sending" and invitation.claim_id
    return invitation


def test_a_task_run_twice_sends_once(alice_client):
    invitation = _claimed(alice_client)
    assert outbox.invitation_send(invitation_id=invitation.id, claim_id=invitation.claim_id).result == "sent"
    assert outbox.invitation_send(invitation_id=invitation.id, claim_id=invitation.claim_id).result == "skipped"
    assert len(mail.outbox) == 1


def test_a_task_with_someone_elses_claim_does_nothing(alice_client):
    invitation = _claimed(alice_client)
    assert outbox.invitation_send(invitation_id=invitation.id, claim_id="not-the-claim").result == "skipped"
    assert mail.outbox == []


def test_an_attempt_in_progress_blocks_a_second_delivery_of_its_task(alice_client):
    invitation = _claimed(alice_client)
    # As if another worker had started this attempt a moment ago and is talking to SMTP.
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        attempt_started_at=timezone.now(), lease_until=timezone.now() + timedelta(minutes=3)
    )
    assert outbox.invitation_send(invitation_id=invitation.id, claim_id=invitation.claim_id).result == "skipped"
    assert mail.outbox == []
    # Nor does a sweep take it back while the lease holds.
    assert outbox.invitations_dispatch_due() == []


def test_a_lapsed_claim_is_renewed_by_the_next_sweep(alice_client):
    invitation = _claimed(alice_client)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        attempt_started_at=timezone.now() - timedelta(minutes=10), lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.invitations_dispatch_due() == [invitation.id]
    invitation.refresh_from_db()
    assert outbox.invitation_send(invitation_id=invitation.id, claim_id=invitation.claim_id).result == "sent"
    assert len(mail.outbox) == 1


def test_two_sweeps_in_a_row_claim_a_row_once(alice_client):
    _, invitation = log_session(client=alice_client)
    assert outbox.invitations_dispatch_due() == [invitation.id]
    assert outbox.invitations_dispatch_due() == []


def test_nothing_is_claimed_before_it_is_due(alice_client):
    log_session(client=alice_client, scheduled_start=timezone.now())  # ends in 50 min, due an hour later
    assert outbox.invitations_dispatch_due() == []


def test_the_retry_delay_doubles_and_is_capped(settings):
    settings.SURVEY_RETRY_BASE_SECONDS = 60
    settings.SURVEY_RETRY_MAX_SECONDS = 3600
    assert [outbox.retry_delay(n) for n in range(1, 8)] == [120, 240, 480, 960, 1920, 3600, 3600]
