"""What works here and calibration, for the clinic admin, a therapist (My practice) and a
supervisor: the figures a user reads, and a fixed number of queries whatever the size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Supervision
from alliance.flags.rules import flags_recompute_for_client
from alliance.models import Flag, FlagStrategy
from tests.alliance.history import checkin, history, session_on
from tests.clinic.dashboards.test_dashboard_queries import build
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

# The session, user, second-factor and clinic lookups, the audit row where a supervisor
# reads, and each page's own grouped queries; the same at any size.
BUDGET = 14


def acknowledge_all(clinic):
    flags = list(Flag.objects.filter(client__clinic=clinic))
    Flag.objects.filter(pk__in=[f.pk for f in flags]).update(acknowledged_at=timezone.now() - timedelta(days=20))
    FlagStrategy.objects.bulk_create([
        FlagStrategy(flag=f, strategy=("invite_feedback", "revisit_goals", "adjust_approach")[i % 3])
        for i, f in enumerate(flags)
    ])


def test_the_admin_sees_recovery_by_strategy_and_each_therapists_calibration(client, login, carol, alice, alice_client):
    # Alice rates 8 above her client on the last two sessions: a discrepancy each time.
    history(alice_client, [38, 38, 30], therapist_totals=[38, 39, 38])
    flags_recompute_for_client(client=alice_client)
    for flag in Flag.objects.filter(client=alice_client):
        Flag.objects.filter(pk=flag.pk).update(acknowledged_at=timezone.now() - timedelta(hours=12))
        FlagStrategy.objects.create(flag=flag, strategy="invite_feedback")
    later = session_on(alice_client, days_ago=0.2)
    checkin(later, 37)
    checkin(later, 39, source="therapist")
    login(client, carol)
    response = client.get(reverse("clinic_repair"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Invited the client to say what is not working" in html and "too few to tell" in html
    (row,) = response.context["therapists"]
    assert row.name == "Alice Therapist"
    assert row.overall.n == 4
    assert row.overall.mean_difference == pytest.approx((0 + 1 + 8 + 2) / 4)
    assert row.overall.higher_share == pytest.approx(0.25)  # 8 ≥ the default 6
    assert row.overall.agreement == pytest.approx(0.75)  # within ±3 on three of four
    assert row.overall.correlation is None  # too few sessions for r
    assert "+2.8" in html and "few sessions: read with care" in html
    drop = next(o for o in response.context["works"].by_kind if o.kind == Flag.Kind.DROP)
    assert (drop.recovered, drop.not_yet) == (1, 0)


def test_a_therapist_sees_only_their_own_figures(client, login, alice, bob, alice_client, bob_client):
    history(alice_client, [38, 30], therapist_totals=[38, 38])
    history(bob_client, [38, 38], therapist_totals=[30, 30])
    login(client, alice)
    response = client.get(reverse("my_practice"))
    assert response.status_code == 200
    assert response.context["calibration"].overall.mean_difference == pytest.approx(4)
    login(client, bob)
    assert client.get(reverse("my_practice")).context["calibration"].overall.mean_difference == pytest.approx(-8)


def count_queries(client, urls):
    counts = {}
    for name, url in urls.items():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[name] = (len(ctx), [q["sql"] for q in ctx.captured_queries])
    return counts


def test_the_repair_and_calibration_pages_run_a_fixed_number_of_queries(client, login, capsys):
    sizes = []
    for therapists, clients_each, sessions_each in [(2, 3, 4), (5, 12, 10)]:
        clinic = ClinicFactory()
        admin = UserFactory(clinic=clinic, role="clinic_admin")
        supervisor = UserFactory(clinic=clinic, role="supervisor")
        staff = build(clinic, therapists, clients_each, sessions_each)
        acknowledge_all(clinic)
        Supervision.objects.bulk_create([Supervision(clinic=clinic, supervisor=supervisor, therapist=t) for t in staff])
        counts = {}
        login(client, admin)
        counts |= count_queries(client, {"clinic_repair": reverse("clinic_repair")})
        login(client, staff[0])
        counts |= count_queries(client, {"my_practice": reverse("my_practice")})
        login(client, supervisor)
        counts |= count_queries(client, {
            "supervision_home": reverse("supervision_home"),
            "supervision_therapist": reverse("supervision_therapist", args=[staff[0].pk]),
        })
        sizes.append(counts)
    small, large = sizes
    report = []
    for name, (n_small, _) in small.items():
        n_large, sql = large[name]
        report.append(f"{name}: {n_small} → {n_large}")
        assert n_small == n_large <= BUDGET, f"{name}: {n_small} small, {n_large} large:\n" + "\n".join(sql)
    with capsys.disabled():
        print("\nqueries per page (2×3×4 → 5×12×10):\n  " + "\n  ".join(report))
