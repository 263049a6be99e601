"""An API list costs the same number of queries for three records as for thirty: a sync
job polling a busy clinic must not multiply the database's work per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from alliance.models import Flag
from tests.factories import CheckInFactory, ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db
LISTS = ("api_clients", "api_sessions", "api_checkins", "api_flags", "fhir_questionnaire_responses", "fhir_observations")


def add_records(therapist, n, start):
    for i in range(start, start + n):
        client = ClientFactory(therapist=therapist, external_id=f"EHR-{i}")
        session = SessionFactory(client=client)
        CheckInFactory(session=session)
        Flag.objects.create(client=client, kind="drop", severity=5, session=session, detail="-4")


def queries(api, name):
    with CaptureQueriesContext(connection) as captured:
        response = api.get(reverse(name))
    assert response.status_code == 200
    return len(captured), captured


@pytest.mark.parametrize("name", LISTS)
def test_a_list_costs_the_same_queries_whatever_its_length(api, alice, name):
    add_records(alice, 3, 0)
    api.get(reverse(name))  # the key's last-used time is written once a minute, not per call
    few, _ = queries(api, name)
    add_records(alice, 27, 3)
    many, captured = queries(api, name)
    assert many == few, "\n".join(q["sql"] for q in captured.captured_queries)
    assert few <= 6
