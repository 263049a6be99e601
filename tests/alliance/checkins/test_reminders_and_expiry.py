"""One reminder for an unanswered check-in; expiry after the clinic's days; two
expiries in a row raise the "no feedback" flag."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from alliance.checkins import outbox
from alliance.models import CheckIn, Flag, SurveyInvitation
from audit.models import AuditEvent
from tests.alliance.conftest import log_session, send_inline, token_of

pytestmark = pytest.mark.django_db

ANSWERS = {"trust": "9", "empathy": "9", "boundaries": "9", "collaboration": "9"}


def _age(invitation, hours):
    SurveyInvitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(hours=hours))


def _remind_inline():
    """Run the reminder sweep, then each queued reminder, in this process."""
    ids = outbox.invitations_remind_due()
    return [outbox.invitation_send_reminder(invitation_id=i).result for i in ids]


def test_it_sends_one_reminder_after_the_clinics_hours(sent_invitation):
    invitation, first_token = sent_invitation
    _age(invitation, 47)
    assert _remind_inline() == []
    _age(invitation, 49)
    assert _remind_inline() == ["sent"]
    assert _remind_inline() == []  # never a second one
    assert len(mail.outbox) == 2
    reminder = mail.outbox[-1]
    assert reminder.subject == "Reminder: a one-minute check-in from Harbour Clinic"
    assert reminder.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert token_of(reminder) != first_token
    assert AuditEvent.objects.filter(action="invitation.reminded").count() == 1


def test_a_reminder_task_delivered_twice_sends_once(sent_invitation):
    invitation, _ = sent_invitation
    _age(invitation, 49)
    [invitation_id] = outbox.invitations_remind_due()
    assert outbox.invitation_send_reminder(invitation_id=invitation_id).result == "sent"
    assert outbox.invitation_send_reminder(invitation_id=invitation_id).result == "skipped"
    assert len(mail.outbox) == 2


def test_both_links_open_the_check_in_and_either_answers_it_once(client, sent_invitation):
    invitation, first_token = sent_invitation
    _age(invitation, 49)
    _remind_inline()
    second_token = token_of(mail.outbox[-1])
    assert client.get(f"/s/{first_token}/").status_code == 200
    assert client.get(f"/s/{second_token}/").status_code == 200
    assert client.post(f"/s/{second_token}/", ANSWERS).status_code == 302
    assert client.post(f"/s/{first_token}/", ANSWERS).status_code == 410
    assert CheckIn.objects.count() == 1


def test_no_reminder_for_an_answered_check_in(client, sent_invitation):
    invitation, token = sent_invitation
    client.post(f"/s/{token}/", ANSWERS)
    _age(invitation, 49)
    assert _remind_inline() == []


def test_the_clinic_sets_when_reminders_go(sent_invitation):
    invitation, _ = sent_invitation
    clinic = invitation.client.clinic
    clinic.reminder_after_hours = 24
    clinic.save(update_fields=["reminder_after_hours"])
    _age(invitation, 25)
    assert _remind_inline() == ["sent"]


def test_it_expires_unanswered_check_ins_after_the_clinics_days(client, sent_invitation):
    invitation, token = sent_invitation
    assert outbox.invitations_expire() == 0
    SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert outbox.invitations_expire() == 1
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    assert client.get(f"/s/{token}/").status_code == 410
    assert AuditEvent.objects.filter(action="invitation.expired", object_id=str(invitation.pk)).exists()
    assert outbox.invitations_expire() == 0


def test_two_expiries_in_a_row_raise_the_no_feedback_flag(alice_client):
    def expire_one(days_ago):
        _, invitation = log_session(client=alice_client, scheduled_start=timezone.now() - timedelta(days=days_ago))
        send_inline(invitation)
        SurveyInvitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        outbox.invitations_expire()

    expire_one(3)
    assert not Flag.objects.filter(client=alice_client, kind="no_feedback").exists()
    expire_one(2)
    flag = Flag.objects.get(client=alice_client, kind="no_feedback")
    assert flag.resolved_at is None
