"""Which sessions get a check-in email, and when: scheduled in the session's own
transaction, so a rolled-back session leaves nothing behind."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from alliance.checkins.invitations import invitation_schedule_for_session
from alliance.models import SurveyInvitation
from tests.alliance.conftest import log_session
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def test_an_attended_session_is_due_after_the_clinics_delay(alice_client):
    start = timezone.now() - timedelta(hours=2)
    session, invitation = log_session(client=alice_client, scheduled_start=start, duration_minutes=50)
    assert invitation.status == "scheduled"
    assert invitation.due_at == start + timedelta(minutes=50) + timedelta(hours=1)


@pytest.mark.parametrize("attendance", ["no_show", "late_cancel", "cancelled"])
def test_missed_sessions_get_no_check_in(alice_client, attendance):
    _, invitation = log_session(client=alice_client, attendance=attendance)
    assert invitation is None


@pytest.mark.parametrize(
    "client_fields",
    [{"email": ""}, {"survey_consent": False}, {"opted_out_at": timezone.now()},
     {"status": "discharged", "discharged_at": timezone.now()}],
)
def test_clients_who_cannot_receive_email_get_no_check_in(alice, client_fields):
    client = ClientFactory(therapist=alice, **client_fields)
    _, invitation = log_session(client=client)
    assert invitation is None


def test_a_session_logged_after_its_check_in_would_have_expired_gets_none(alice_client):
    _, invitation = log_session(client=alice_client, scheduled_start=timezone.now() - timedelta(days=10))
    assert invitation is None


def test_a_rolled_back_session_leaves_no_invitation(alice_client):
    with pytest.raises(RuntimeError), transaction.atomic():
        log_session(client=alice_client)
        raise RuntimeError("the form failed after the session was saved")
    assert not SurveyInvitation.objects.exists()


def test_marking_a_session_missed_cancels_and_correcting_it_reschedules(alice_client):
    session, invitation = log_session(client=alice_client)
    session.attendance = "no_show"
    session.save()
    invitation_schedule_for_session(session=session)
    invitation.refresh_from_db()
    assert invitation.status == "cancelled"
    session.attendance = "attended"
    session.save()
    invitation_schedule_for_session(session=session)
    invitation.refresh_from_db()
    assert invitation.status == "scheduled"
