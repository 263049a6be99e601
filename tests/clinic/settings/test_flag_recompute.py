"""A threshold change recomputes every client's flags in the background: the request
saves the thresholds and a progress record and returns; a real Celery worker does the
work (alliance/flags/tasks.py), batch by batch, and the settings page shows how far it
has got. Two changes in a row: the later thresholds win."""

import threading

import pytest
from django.conf import settings
from django.db import close_old_connections
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic
from alliance.flags.rules import flags_recompute_for_client
from alliance.flags.services import flag_recomputes_resume_stale, flags_recompute_run, flags_recompute_schedule
from alliance.models import Flag, FlagRecompute
from tests.alliance.history import history
from tests.clinic.settings.test_clinic_settings import current
from tests.conftest import verified_session_login
from tests.factories import ClientFactory
from tests.services import celery_worker, purge_queue, smtp_server, wait_for  # noqa: F401 - fixtures

TOTALS = {"A.A.": 34, "B.B.": 37, "C.C.": 39}


def caseload_with_totals(therapist):
    """Three clients whose latest client totals are 34, 37 and 39, flags computed with
    the default threshold (low alliance below 36): only A.A. is flagged."""
    clients = {}
    for name, total in TOTALS.items():
        c = ClientFactory(therapist=therapist, display_name=name)
        history(c, [total])
        flags_recompute_for_client(client=c)
        clients[name] = c
    return clients


def low_alliance(clinic):
    return set(
        Flag.objects.filter(client__clinic=clinic, kind=Flag.Kind.LOW_ALLIANCE, resolved_at__isnull=True)
        .values_list("client__display_name", flat=True)
    )


def settings_page(browser):
    return browser.get(reverse("clinic_settings")).content.decode()


def queued_messages():
    """The tasks waiting in this run's queue, as (task name, args), taken off it."""
    from config.celery_app import app

    found = []
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE)
        try:
            while True:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    break
                found.append((message.headers["task"], message.payload[0]))
                message.ack()
        finally:
            queue.close()
    return found


# --- The request -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_change_returns_at_once_with_progress_and_recomputes_nothing_itself(
    client, login, carol, clinic, alice, django_capture_on_commit_callbacks
):
    caseload_with_totals(alice)
    purge_queue()
    login(client, carol)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("clinic_settings"), current(clinic, low_total_below=38))
    assert response.status_code == 302
    assert Clinic.objects.get(pk=clinic.pk).low_total_below == 38
    # Nothing was recomputed in the request: B.B. (37) is not flagged yet.
    assert low_alliance(clinic) == {"A.A."}
    run = FlagRecompute.objects.get()
    assert (run.total, run.done, run.requested_by, run.is_running) == (3, 0, carol, True)
    # What went to the broker: the task and the run's id, and the dashboard figures'
    # rebuild (the "low" counts follow the threshold) with the clinic's id, nothing else.
    assert sorted(queued_messages()) == [("alliance.flags.tasks.recompute_clinic_flags", [run.pk]),
                                         ("clinic.dashboards.tasks.refresh_clinic_figures", [clinic.pk])]

    page = client.get(reverse("clinic_settings")).content.decode()
    assert "being recomputed in the background" in page
    assert "Recomputing flags with the new thresholds: 0 of 3 clients." in page
    assert "js/recompute_progress.js" in page and 'href="/clinic/settings/">Refresh</a>' in page
    assert client.get(reverse("clinic_settings_recompute")).json() == {
        "running": True, "done": 0, "total": 3, "text": "Recomputing flags with the new thresholds: 0 of 3 clients.",
        "finished_at": None,
    }


@pytest.mark.django_db
def test_the_page_shows_how_far_a_run_has_got(client, login, carol, clinic):
    FlagRecompute.objects.create(clinic=clinic, total=400, done=120, cursor=120, last_client_id=400)
    login(client, carol)
    assert "Recomputing flags with the new thresholds: 120 of 400 clients." in settings_page(client)
    assert '<progress class="w-100" id="flag-recompute-bar" max="400" value="120"' in settings_page(client)


@pytest.mark.django_db
def test_a_survey_timing_change_starts_no_recompute(client, login, carol, clinic, django_capture_on_commit_callbacks):
    login(client, carol)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("clinic_settings"), current(clinic, expiry_days=10))
    assert not FlagRecompute.objects.exists()
    assert "Recomputing" not in settings_page(client)


@pytest.mark.django_db
def test_a_refused_change_saves_nothing_and_starts_nothing(client, login, carol, clinic):
    login(client, carol)
    response = client.post(reverse("clinic_settings"), current(clinic, low_total_below=41, drop_points=5))
    assert response.status_code == 400
    assert Clinic.objects.get(pk=clinic.pk).drop_points == 3
    assert not FlagRecompute.objects.exists()


@pytest.mark.django_db
def test_only_the_clinic_admin_sees_the_progress(client, login, alice, mallory, carol, clinic):
    FlagRecompute.objects.create(clinic=clinic, total=3, last_client_id=3)
    for user in (alice, mallory):
        login(client, user)
        assert client.get(reverse("clinic_settings_recompute")).status_code == 403
    other_admin = type(carol).objects.create(
        email="admin@elsewhere.example", full_name="Other Admin", clinic=mallory.clinic, role="clinic_admin",
    )
    login(client, other_admin)
    assert client.get(reverse("clinic_settings_recompute")).json()["total"] == 0  # not carol's clinic's run


# --- The run, step by step (in this process) -----------------------------------------------------


@pytest.mark.django_db
def test_a_run_is_idempotent_and_a_redelivery_resumes_from_its_cursor(carol, clinic, alice):
    clients = caseload_with_totals(alice)
    Clinic.objects.filter(pk=clinic.pk).update(low_total_below=38)
    run = flags_recompute_schedule(clinic=clinic, by=carol)
    first = min(c.pk for c in clients.values())
    # As if a worker had done the first client and died before the rest.
    FlagRecompute.objects.filter(pk=run.pk).update(cursor=first, done=1)
    assert flags_recompute_run(run_id=run.pk) == "finished"
    run.refresh_from_db()
    assert (run.done, run.total, run.finished_at is not None) == (3, 3, True)
    assert low_alliance(clinic) == {"A.A.", "B.B."}
    flags_before = list(Flag.objects.order_by("id").values())
    assert flags_recompute_run(run_id=run.pk) == "nothing to do"
    assert list(Flag.objects.order_by("id").values()) == flags_before


@pytest.mark.django_db
def test_a_later_change_supersedes_a_run_midway_and_its_thresholds_win(carol, clinic, alice):
    caseload_with_totals(alice)
    Clinic.objects.filter(pk=clinic.pk).update(low_total_below=38)
    older = flags_recompute_schedule(clinic=clinic, by=carol)
    FlagRecompute.objects.filter(pk=older.pk).update(cursor=older.last_client_id - 1, done=2)  # midway
    Clinic.objects.filter(pk=clinic.pk).update(low_total_below=40)
    newer = flags_recompute_schedule(clinic=clinic, by=carol)
    assert flags_recompute_run(run_id=older.pk) == "superseded"
    assert flags_recompute_run(run_id=newer.pk) == "finished"
    older.refresh_from_db()
    assert older.superseded_at is not None and older.finished_at is None and older.done == 2
    assert low_alliance(clinic) == {"A.A.", "B.B.", "C.C."}


@pytest.mark.django_db(transaction=True)
def test_two_executions_of_one_run_side_by_side_count_each_client_once(require_postgres, carol, clinic, alice):
    for i in range(9):
        c = ClientFactory(therapist=alice, display_name=f"Client {i}")
        history(c, [30 + i])
    Clinic.objects.filter(pk=clinic.pk).update(low_total_below=35)
    run = flags_recompute_schedule(clinic=clinic, by=carol)
    results, barrier = [], threading.Barrier(2)

    def execute():
        barrier.wait()
        try:
            results.append(flags_recompute_run(run_id=run.pk, batch=2))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=execute) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.refresh_from_db()
    assert "finished" in results and set(results) <= {"finished", "taken over", "nothing to do"}, results
    assert (run.done, run.total) == (9, 9)
    assert low_alliance(clinic) == {f"Client {i}" for i in range(5)}


# --- With a real Celery worker ----------------------------------------------------------------------


def _admin_browser(user):
    return verified_session_login(BrowserClient(), user)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_applies_the_new_thresholds_to_every_client_and_the_page_says_so(
    smtp_server, celery_worker, carol, clinic, alice  # noqa: F811
):
    caseload_with_totals(alice)
    celery_worker(smtp_server())
    browser = _admin_browser(carol)
    assert browser.post(reverse("clinic_settings"), current(clinic, low_total_below=38)).status_code == 302
    run = FlagRecompute.objects.get()
    wait_for(lambda: FlagRecompute.objects.get(pk=run.pk).finished_at, timeout=180, what="the recompute to finish")

    assert low_alliance(clinic) == {"A.A.", "B.B."}
    page = settings_page(browser)
    assert "Flags recomputed with the current thresholds for all 3 clients." in page
    assert "Recomputing" not in page and "recompute_progress.js" not in page
    status = browser.get(reverse("clinic_settings_recompute")).json()
    assert (status["running"], status["done"], status["total"]) == (False, 3, 3)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_changes_in_a_row_the_later_thresholds_win(smtp_server, celery_worker, carol, clinic, alice):  # noqa: F811
    caseload_with_totals(alice)
    browser = _admin_browser(carol)
    # Both changes are queued before any worker runs: the first run is superseded by the second.
    browser.post(reverse("clinic_settings"), current(clinic, low_total_below=38))
    browser.post(reverse("clinic_settings"), current(Clinic.objects.get(pk=clinic.pk), low_total_below=35))
    first, second = FlagRecompute.objects.order_by("id")
    celery_worker(smtp_server())
    wait_for(lambda: FlagRecompute.objects.get(pk=second.pk).finished_at, what="the second recompute to finish")

    first.refresh_from_db()
    assert first.superseded_at is not None and first.finished_at is None and first.done == 0
    assert low_alliance(clinic) == {"A.A."}  # below 35: only 34, not 37 as the first change would have had it
    assert "Flags recomputed with the current thresholds for all 3 clients." in settings_page(browser)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_message_was_lost_is_sent_again_by_the_sweep(smtp_server, celery_worker, clinic, alice):  # noqa: F811
    caseload_with_totals(alice)
    Clinic.objects.filter(pk=clinic.pk).update(low_total_below=38)
    clients = alice.clients.order_by("id")
    # A run whose task never reached a worker (the broker lost it) ten minutes ago.
    run = FlagRecompute.objects.create(
        clinic=clinic, total=3, last_client_id=clients.last().pk, requested_at=timezone.now() - timezone.timedelta(minutes=10),
    )
    celery_worker(smtp_server())
    assert flag_recomputes_resume_stale() == [run.pk]
    wait_for(lambda: FlagRecompute.objects.get(pk=run.pk).finished_at, what="the resumed recompute to finish")
    assert low_alliance(clinic) == {"A.A.", "B.B."}
    assert flag_recomputes_resume_stale() == []
