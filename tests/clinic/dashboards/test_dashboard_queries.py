"""Query budgets: every dashboard page and export runs the same, small number of SQL
queries whatever the number of therapists, clients and sessions."""

import hashlib
import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from clients.models import Client
from clinic.dashboards.figures import figures_recompute
from sessions.models import Session
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

BUDGET = 12
_n = itertools.count()


def build(clinic, therapists, clients_each, sessions_each):
    """A clinic of the given size, written with bulk_create so the big size stays fast."""
    now = timezone.now()
    modalities, approaches = Client.Modality.values, Client.Approach.values
    staff = [UserFactory(clinic=clinic, full_name=f"T{next(_n)}") for _ in range(therapists)]
    clients = Client.objects.bulk_create([
        Client(clinic=clinic, therapist=t, display_name=f"C{next(_n)}", modality=modalities[i % 4],
               relationship_approach=approaches[i % 3])
        for t in staff for i in range(clients_each)
    ])
    sessions = Session.objects.bulk_create([
        Session(client=c, therapist=c.therapist, scheduled_start=now - timedelta(days=3 + 7 * k),
                attendance="no_show" if k % 5 == 4 else "attended")
        for c in clients for k in range(sessions_each)
    ])
    attended = [s for s in sessions if s.attendance == "attended"]
    CheckIn.objects.bulk_create([
        CheckIn(session=s, client=s.client, source=src, trust=7 + i % 4, empathy=8, boundaries=9, collaboration=9,
                submitted_at=s.scheduled_start + timedelta(hours=1))
        for i, s in enumerate(attended) for src in ("client", "therapist")
    ])
    SurveyInvitation.objects.bulk_create([
        SurveyInvitation(session=s, client=s.client, due_at=s.scheduled_start + timedelta(hours=1),
                         token_hash=hashlib.sha256(f"q{next(_n)}".encode()).hexdigest(),
                         status="answered" if i % 3 else "expired", sent_at=s.scheduled_start,
                         expires_at=s.scheduled_start + timedelta(days=7))
        for i, s in enumerate(attended)
    ])
    Flag.objects.bulk_create([
        Flag(client=c, kind="low_alliance", severity=4, raised_at=now - timedelta(days=5 + i),
             resolved_at=None if i % 2 else now - timedelta(days=1))
        for i, c in enumerate(clients)
    ])
    # Written past the services that keep the dashboard's figures: rebuild them.
    figures_recompute(clinic)
    return staff


def pages(therapist):
    yield reverse("clinic_dashboard")
    yield reverse("clinic_dashboard") + "?period=month&modality=cbt"
    yield reverse("clinic_dashboard") + f"?therapist={therapist.id}"
    yield reverse("clinic_therapist", args=[therapist.id])
    for table in ("therapists", "over_time", "modality", "approach", "distribution"):
        yield reverse("dashboard_export", args=[table])
    yield reverse("dashboard_export", args=["caseload"]) + f"?therapist={therapist.id}"


def count_queries(client, therapist):
    counts = {}
    for url in pages(therapist):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url.replace(str(therapist.id), "<id>")] = (len(ctx), [q["sql"] for q in ctx.captured_queries])
    return counts


def test_it_runs_a_fixed_number_of_queries_per_dashboard_page(client, login, capsys):
    sizes = {}
    for therapists, clients_each, sessions_each in [(2, 3, 4), (5, 15, 10)]:
        clinic = ClinicFactory()
        admin = UserFactory(clinic=clinic, role="clinic_admin")
        staff = build(clinic, therapists, clients_each, sessions_each)
        assert Session.objects.filter(client__clinic=clinic).count() == therapists * clients_each * sessions_each
        login(client, admin)
        sizes[(therapists, clients_each, sessions_each)] = count_queries(client, staff[0])
    small, large = sizes.values()
    report = []
    for url, (n_small, _) in small.items():
        n_large, sql = large[url]
        report.append(f"{url}: {n_small} → {n_large}")
        assert n_small == n_large <= BUDGET, f"{url}: {n_small} queries small, {n_large} large:\n" + "\n".join(sql)
    with capsys.disabled():
        print("\nqueries per page (2×3×4 → 5×15×10):\n  " + "\n  ".join(report))
