"""sessions.services: one transaction per write, so a failure half-way leaves nothing."""

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from alliance.models import CheckIn, SurveyInvitation
from audit.models import AuditEvent
from sessions.models import Session, SessionNote
from sessions.services import session_log

pytestmark = pytest.mark.django_db

RATING = {"trust": 8, "empathy": 8, "boundaries": 8, "collaboration": 8}


def _log(alice, alice_client, **kwargs):
    values = {
        "therapist": alice, "client": alice_client, "scheduled_start": timezone.now() - timedelta(hours=3),
        "duration_minutes": 50, "attendance": "attended", "format": "video", "note": "private", "rating": RATING,
    }
    values.update(kwargs)
    return session_log(**values)


def test_it_rolls_everything_back_when_the_rating_is_refused_by_the_database(alice, alice_client):
    with pytest.raises(IntegrityError):
        _log(alice, alice_client, rating={**RATING, "trust": 11})
    assert Session.objects.count() == 0
    assert SessionNote.objects.count() == 0
    assert CheckIn.objects.count() == 0
    assert SurveyInvitation.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="session.").exists()


def test_it_cannot_log_the_same_form_twice_even_when_both_pass_the_token_check(alice, alice_client):
    token = uuid.uuid4()
    _log(alice, alice_client, form_token=token)
    with pytest.raises(IntegrityError):
        _log(alice, alice_client, form_token=token)
    assert Session.objects.count() == 1
    assert SurveyInvitation.objects.count() == 1


def test_it_audits_field_names_only(alice, alice_client):
    session = _log(alice, alice_client, note="the secret")
    event = AuditEvent.objects.get(action="session.create")
    assert event.actor == alice and event.clinic == alice_client.clinic
    assert event.object_type == "session" and event.object_id == str(session.pk)
    assert event.detail == {
        "fields": ["scheduled_start", "duration_minutes", "attendance", "format", "note", *RATING]
    }
