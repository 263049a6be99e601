"""Two refreshes of one clinic's caseload rows at once, as when a flag is raised while
the rebuild that a settings change queued is running: neither fails, and the rows
are those of the raw clients and flags once both have committed.

Before they were serialised, the second refresh's INSERT broke the unique key
(therapist_caseload_key), and a flags recompute that hit it failed as a whole, which
left the settings page at "0 of 3 clients" until the minute's resume sweep."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from alliance.models import Flag
from clinic.dashboards.figures import caseloads_refresh
from clinic.models import TherapistCaseload
from tests.factories import ClientFactory


def rows(clinic):
    return sorted(TherapistCaseload.objects.filter(clinic=clinic).values_list("therapist_id", "modality", "caseload",
                                                                              "flagged"))


@pytest.mark.django_db(transaction=True)
def test_a_refresh_waits_for_the_one_in_progress_and_counts_what_it_committed(require_postgres, clinic, alice):
    clients = [ClientFactory(therapist=alice, display_name=f"C{i}") for i in range(3)]
    caseloads_refresh(clinic_id=clinic.pk, therapist_ids=[alice.pk])
    modality = clients[0].modality
    assert rows(clinic) == [(alice.pk, modality, 3, 0)]

    first_refreshed, errors = threading.Event(), []

    def first():
        # A flag is raised and the caseload refreshed; the commit comes a little later.
        try:
            with transaction.atomic():
                Flag.objects.create(client=clients[0], kind=Flag.Kind.LOW_ALLIANCE, raised_at=timezone.now())
                caseloads_refresh(clinic_id=clinic.pk, therapist_ids=[alice.pk])
                first_refreshed.set()
                connection.cursor().execute("SELECT pg_sleep(0.5)")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            first_refreshed.set()
            close_old_connections()

    def second():
        first_refreshed.wait(10)
        try:
            with transaction.atomic():
                caseloads_refresh(clinic_id=clinic.pk, therapist_ids=[alice.pk])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    # The second refresh ran after the first committed, so it counted the new flag.
    assert rows(clinic) == [(alice.pk, modality, 3, 1)]
