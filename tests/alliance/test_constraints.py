"""The database itself refuses impossible records, whatever code path writes them."""

import pytest
from django.db import IntegrityError, transaction

from alliance.models import CheckIn, Flag, SurveyInvitation
from tests.factories import CheckInFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["trust", "empathy", "boundaries", "collaboration"])
@pytest.mark.parametrize("value", [11, 99])
def test_it_rejects_scores_above_ten(field, value):
    with pytest.raises(IntegrityError):
        CheckInFactory(**{field: value})


def test_it_rejects_negative_scores_at_the_database(alice_client):
    session = SessionFactory(client=alice_client)
    with pytest.raises(IntegrityError), transaction.atomic():
        # Bypass the model field (PositiveSmallIntegerField) and write the raw value.
        CheckIn.objects.bulk_create(
            [CheckIn(session=session, client=alice_client, source="client", trust=-1, empathy=5, boundaries=5, collaboration=5)]
        )
    assert not CheckIn.objects.exists()


def test_it_computes_the_total_in_the_database():
    checkin = CheckInFactory(trust=10, empathy=9, boundaries=8, collaboration=7)
    checkin.refresh_from_db()
    assert checkin.total == 34


def test_it_allows_one_checkin_per_session_and_source():
    checkin = CheckInFactory(source="client")
    CheckInFactory(session=checkin.session, source="therapist")
    with pytest.raises(IntegrityError):
        CheckInFactory(session=checkin.session, source="client")


def test_it_allows_one_invitation_per_session(alice_client):
    session = SessionFactory(client=alice_client)
    SurveyInvitation.objects.create(session=session, client=alice_client, token_hash="a" * 64, due_at=session.ends_at)
    with pytest.raises(IntegrityError):
        SurveyInvitation.objects.create(session=session, client=alice_client, token_hash="b" * 64, due_at=session.ends_at)


def test_it_allows_one_open_flag_per_client_and_kind(alice_client):
    Flag.objects.create(client=alice_client, kind="drop")
    with pytest.raises(IntegrityError), transaction.atomic():
        Flag.objects.create(client=alice_client, kind="drop")
    Flag.objects.filter(client=alice_client).update(resolved_at="2026-01-01T00:00Z")
    Flag.objects.create(client=alice_client, kind="drop")
    assert Flag.objects.filter(client=alice_client, kind="drop").count() == 2


def test_it_rejects_a_session_longer_than_eight_hours(alice_client):
    with pytest.raises(IntegrityError):
        SessionFactory(client=alice_client, duration_minutes=481)
