"""What works here: recovery after acknowledged flags, by kind and strategy, computed in
SQL (alliance.flags.selectors.flags_with_verdict) and equal to what each client page says
(repair_for_flag), with small numbers called small."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Clinic
from alliance.flags.rules import flags_recompute_for_client
from alliance.flags.selectors import flags_for_client_page, flags_with_verdict, what_works
from alliance.management.commands.seed_demo import DEMO_CLINIC
from alliance.models import Flag, FlagStrategy
from tests.alliance.history import checkin, history, session_on
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

YEAR = timedelta(days=365)


def acknowledge(flag, days_ago, *strategies):
    Flag.objects.filter(pk=flag.pk).update(acknowledged_at=timezone.now() - timedelta(days=days_ago))
    FlagStrategy.objects.bulk_create([FlagStrategy(flag=flag, strategy=s) for s in strategies])


def window():
    now = timezone.now()
    return {"start": now - YEAR, "end": now + timedelta(days=1)}


def test_it_counts_a_recovery_under_each_strategy_recorded(alice, alice_client):
    history(alice_client, [38, 38, 30])  # a drop of 8: drop and low-alliance flags
    flags_recompute_for_client(client=alice_client)
    drop = Flag.objects.get(client=alice_client, kind=Flag.Kind.DROP)
    acknowledge(drop, 0.5, "invite_feedback", "own_part")
    checkin(session_on(alice_client, days_ago=0.1), 39)  # back above the pre-flag level
    works = what_works(clinic=alice.clinic, **window())
    (row,) = [o for o in works.by_kind if o.kind == Flag.Kind.DROP]
    assert (row.recovered, row.not_yet, row.no_data) == (1, 0, 0)
    assert row.summary == "1 of 1 — too few to tell"
    strategies = {o.strategy: o for o in works.by_strategy[Flag.Kind.DROP]}
    assert set(strategies) == {"invite_feedback", "own_part"}
    assert all(o.recovered == 1 for o in strategies.values())


def test_it_says_plainly_when_numbers_are_small_and_never_gives_a_p_value(alice, alice_client):
    from alliance.flags.selectors import Outcome

    assert Outcome("drop", None, recovered=3, not_yet=1).summary == "3 of 4 — too few to tell"
    assert Outcome("drop", None, recovered=6, not_yet=4).summary == "6 of 10 (60%) — a small number: a hint at most"
    big = Outcome("drop", None, recovered=30, not_yet=10).summary
    assert big == "30 of 40 (75%) — enough to compare, not proof of cause" and "p" not in big.split("(")[0]
    assert Outcome("drop", None, no_data=2).summary == "no outcome yet"


def test_it_keeps_to_one_therapists_caseload_when_asked(alice, bob, alice_client):
    history(alice_client, [38, 30])
    flags_recompute_for_client(client=alice_client)
    acknowledge(Flag.objects.get(client=alice_client, kind=Flag.Kind.DROP), 3, "invite_feedback")
    mine = what_works(clinic=alice.clinic, therapist=alice, **window())
    assert [(o.kind, o.not_yet) for o in mine.by_kind if o.with_outcome] == [(Flag.Kind.DROP, 1)]
    assert what_works(clinic=alice.clinic, therapist=bob, **window()).empty


def test_it_costs_two_queries_however_many_flags(alice, alice_client):
    def grow(n):
        for i in range(n):
            other = ClientFactory(therapist=alice)
            history(other, [38, 30])
            flags_recompute_for_client(client=other)
            for flag in Flag.objects.filter(client=other, acknowledged_at__isnull=True):
                acknowledge(flag, 10, "invite_feedback")

    grow(1)
    with CaptureQueriesContext(connection) as small:
        what_works(clinic=alice.clinic, **window())
    grow(6)
    with CaptureQueriesContext(connection) as large:
        works = what_works(clinic=alice.clinic, **window())
    assert sum(o.with_outcome + o.no_data for o in works.by_kind) >= 7
    assert len(small) == len(large) == 2


@pytest.mark.slow
def test_the_sql_verdict_is_the_client_pages_verdict_on_every_demo_flag():
    call_command("seed_demo")
    clinic = Clinic.objects.get(name=DEMO_CLINIC)
    acknowledged = Flag.objects.filter(client__clinic=clinic, acknowledged_at__isnull=False)
    sql = dict(flags_with_verdict(acknowledged, clinic).values_list("id", "verdict"))
    python = {}
    for flag in acknowledged.select_related("client", "client__clinic"):
        if flag.client_id not in python:
            python[flag.client_id] = {f.id: f.repair.verdict for f in flags_for_client_page(flag.client) if f.repair}
    page = {fid: v for verdicts in python.values() for fid, v in verdicts.items()}
    assert len(sql) >= 20
    assert sql == page
    assert {"recovered", "not yet"} <= set(sql.values())
