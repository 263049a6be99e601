"""The link lookup every check-in page starts with is one statement written once
(alliance/checkins/services.py, `invitation_for_answer`). It must open exactly the
links the ORM's `_answerable` condition opens, and hand back the same invitation,
client and clinic the ORM would, for every kind of link and every state a row is in."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alliance.checkins import services
from alliance.checkins.invitations import new_token
from alliance.models import Channel, SurveyInvitation

from ..conftest import log_session

pytestmark = pytest.mark.django_db

Status = SurveyInvitation.Status
LINK_COLUMNS = (*services.LINK_FIELDS, *services.IN_SESSION_FIELDS)


def _orm_lookup(token):
    return (
        SurveyInvitation.objects.select_related("client__clinic")
        .filter(services._answerable(token, timezone.now()))
        .first()
    )


def _values(obj):
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


# Each case: the row's state, given the link column the token sits in.
CASES = {
    "sent": dict(status=Status.SENT, expires_in=timedelta(days=3)),
    "sending": dict(status=Status.SENDING, expires_in=timedelta(days=3)),
    "scheduled": dict(status=Status.SCHEDULED, expires_in=timedelta(days=3)),
    "expired": dict(status=Status.SENT, expires_in=-timedelta(minutes=1)),
    "answered": dict(status=Status.ANSWERED, expires_in=timedelta(days=3), answered=True),
    "answered_at_only": dict(status=Status.SENT, expires_in=timedelta(days=3), answered=True),
    "failed": dict(status=Status.FAILED, expires_in=timedelta(days=3)),
    "in_session_open": dict(status=Status.SCHEDULED, expires_in=None, in_session_in=timedelta(minutes=5)),
    "in_session_over": dict(status=Status.SCHEDULED, expires_in=None, in_session_in=-timedelta(seconds=1)),
}


@pytest.mark.parametrize("column", LINK_COLUMNS)
@pytest.mark.parametrize("case", CASES)
def test_the_written_lookup_opens_what_the_orm_opens(alice_client, column, case):
    spec = CASES[case]
    _, invitation = log_session(client=alice_client)
    token, digest = new_token()
    now = timezone.now()
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        status=spec["status"],
        expires_at=None if spec["expires_in"] is None else now + spec["expires_in"],
        answered_at=now if spec.get("answered") else None,
        in_session_expires_at=now + spec["in_session_in"] if "in_session_in" in spec else None,
        in_session_channel=Channel.IN_SESSION_PHONE if "in_session_in" in spec else "",
        **{column: digest},
    )
    expected = _orm_lookup(token)
    got = services.invitation_for_answer(token)
    assert (got is None) == (expected is None)
    if expected is not None:
        assert _values(got) == _values(expected)
        assert _values(got.client) == _values(expected.client)
        assert _values(got.client.clinic) == _values(expected.client.clinic)
        # The page reads these without another query.
        assert got.client.clinic.name == "Harbour Clinic"
        assert got.client.language == alice_client.language
    # And a wrong token never opens it.
    assert services.invitation_for_answer(token + "x") is None


def test_an_open_link_is_found_with_one_query_and_its_page_reads_no_more(
    alice_client, django_assert_num_queries
):
    _, invitation = log_session(client=alice_client)
    token, digest = new_token()
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        status=Status.SENT, expires_at=timezone.now() + timedelta(days=1), token_hash=digest
    )
    with django_assert_num_queries(1):
        found = services.invitation_for_answer(token)
        assert (found.pk, found.client.clinic.tzinfo.key) == (invitation.pk, alice_client.clinic.timezone)


def test_an_overlong_token_is_refused_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.invitation_for_answer("a" * (services.MAX_TOKEN_LENGTH + 1)) is None
