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
