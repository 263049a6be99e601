"""Benchmarks of the pages people open most, at two sizes. Not timed assertions: the
figures are reported (see conftest.py) and the query-count tests guard the budgets."""

import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.flags import flags_recompute_for_client
from alliance.models import CheckIn
from clients.models import Client
from sessions.models import Session
from tests.bench.conftest import record
from tests.factories import UserFactory

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SESSIONS_PER_CLIENT = 8


def build_caseload(therapist, n_clients, rng):
    """n_clients clients with eight weekly attended sessions, each rated by both sides."""
    now = timezone.now()
    clients = Client.objects.bulk_create(
        [
            Client(
                clinic=therapist.clinic, therapist=therapist, display_name=f"Bench {therapist.pk}-{i}",
                email=f"bench{therapist.pk}-{i}@example.org", survey_consent=True,
                modality=rng.choice(Client.Modality.values), relationship_approach=rng.choice(Client.Approach.values),
            )
            for i in range(n_clients)
        ]
    )
    sessions = Session.objects.bulk_create(
        [
            Session(client=c, therapist=therapist, scheduled_start=now - timedelta(weeks=SESSIONS_PER_CLIENT - w))
            for c in clients
            for w in range(SESSIONS_PER_CLIENT)
        ]
    )
    checkins = []
    for s in sessions:
        for source in ("client", "therapist"):
            scores = [rng.randint(6, 10) for _ in range(4)]
            checkins.append(
                CheckIn(session=s, client=s.client, source=source, trust=scores[0], empathy=scores[1],
                        boundaries=scores[2], collaboration=scores[3], submitted_at=s.scheduled_start)
            )
    CheckIn.objects.bulk_create(checkins)
    for c in clients:
        flags_recompute_for_client(client=c)
    return clients


@pytest.mark.parametrize("n_clients", [5, 200])
def test_caseload_page(benchmark, client, login, alice, n_clients):
    build_caseload(alice, n_clients, random.Random(n_clients))
    login(client, alice)
    url = reverse("caseload")

    def get():
        response = client.get(url)
        assert response.status_code == 200

    benchmark.pedantic(get, rounds=15, warmup_rounds=2)
    record("caseload", n_clients, benchmark)


@pytest.mark.parametrize("n_therapists,n_clients", [(2, 5), (6, 40)])
def test_clinic_dashboard(benchmark, client, login, clinic, carol, n_therapists, n_clients):
    rng = random.Random(n_therapists)
    for _ in range(n_therapists):
        build_caseload(UserFactory(clinic=clinic), n_clients, rng)
    login(client, carol)
    url = reverse("clinic_dashboard")

    def get():
        response = client.get(url)
        assert response.status_code == 200

    benchmark.pedantic(get, rounds=10, warmup_rounds=1)
    record("clinic dashboard", n_therapists * n_clients, benchmark)


@pytest.mark.parametrize("n_sessions", [8, 64])
def test_client_page(benchmark, client, login, alice, n_sessions):
    global SESSIONS_PER_CLIENT
    saved, SESSIONS_PER_CLIENT = SESSIONS_PER_CLIENT, n_sessions
    try:
        (one,) = build_caseload(alice, 1, random.Random(n_sessions))
    finally:
        SESSIONS_PER_CLIENT = saved
    login(client, alice)
    url = reverse("client_detail", args=[one.pk])

    def get():
        response = client.get(url)
        assert response.status_code == 200

    benchmark.pedantic(get, rounds=15, warmup_rounds=2)
    record("client page", n_sessions, benchmark)
