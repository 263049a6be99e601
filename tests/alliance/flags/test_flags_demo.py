"""The demo clinic behind `make run` shows every kind of flag and some repair tracking."""

import pytest
from django.core.management import call_command

from alliance.models import Flag
from alliance.flags.selectors import flags_for_client_page

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_it_shows_every_flag_kind_and_repair_tracking_in_the_demo():
    call_command("seed_demo")
    open_kinds = set(Flag.objects.filter(resolved_at__isnull=True).values_list("kind", flat=True))
    assert open_kinds == set(Flag.Kind.values)
    acknowledged = Flag.objects.filter(acknowledged_at__isnull=False).select_related("client")
    verdicts = set()
    for flag in acknowledged:
        page = {f.id: f for f in flags_for_client_page(flag.client)}
        verdicts.add(page[flag.id].repair.verdict)
    assert {"recovered", "not yet"} <= verdicts
    assert Flag.objects.filter(acknowledged_at__isnull=False, resolved_at__isnull=True).exists()

    before = Flag.objects.count()
    call_command("seed_demo")
    assert Flag.objects.count() == before


def test_the_demo_diary_has_each_clients_next_session_booked_and_one_left_unrecorded():
    from django.utils import timezone

    from clients.models import Client
    from sessions.models import Session

    call_command("seed_demo")
    now = timezone.now()
    booked = Session.objects.filter(attendance=Session.Attendance.BOOKED)
    for client in Client.objects.filter(clinic__name__contains="(demo)"):
        assert booked.filter(client=client, scheduled_start__gt=now).count() == 1, client
    # Nothing held is in the future; one booking in the past waits for its attendance.
    assert not Session.objects.filter(scheduled_start__gt=now).exclude(attendance="booked").exists()
    [overdue] = booked.filter(scheduled_start__lte=now)
    assert overdue.client.display_name == "A.B."
