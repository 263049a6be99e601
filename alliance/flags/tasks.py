"""Celery tasks of the flags. Thin on purpose: the work and its safety rules are in
alliance/flags/services.py. Arguments are ids only."""

from celery import shared_task
from django.db import DatabaseError

from . import refresh, services

# Acknowledged only after it ran, handed back if the worker dies: a crash mid-run
# delays the recompute (the next delivery resumes from the run's cursor), never loses it.
RECOMPUTE_OPTIONS = dict(acks_late=True, reject_on_worker_lost=True, ignore_result=True)


# A database error in one client's recompute (a deadlock PostgreSQL broke, a restart)
# is retried in seconds, from the run's cursor, instead of leaving the settings page's
# progress still until the minute's resume sweep.
@shared_task(name=services.RECOMPUTE_TASK, autoretry_for=(DatabaseError,), retry_backoff=1, retry_backoff_max=30,
             max_retries=5, **RECOMPUTE_OPTIONS)
def recompute_clinic_flags(run_id):
    return services.flags_recompute_run(run_id=run_id)


@shared_task(name="alliance.flags.tasks.resume_flag_recomputes", ignore_result=True)
def resume_flag_recomputes():
    return len(services.flag_recomputes_resume_stale())


@shared_task(name=refresh.REFRESH_TASK, **RECOMPUTE_OPTIONS)
def refresh_client_flags(client_id):
    return refresh.flags_refresh(client_id)


# Clients a sweep takes before it queues itself again.
REFRESH_BATCH = 500


# Beat's every FLAG_REFRESH_SECONDS: the flags of every answer since the last sweep
# (alliance/flags/refresh.py). The name is the one the minute's repair sweep had.
@shared_task(name="alliance.flags.tasks.refresh_stale_flags", bind=True, ignore_result=True)
def refresh_stale_flags(self):
    refreshed = refresh.flags_refresh_pending(limit=REFRESH_BATCH)
    if refreshed is not None and len(refreshed) >= REFRESH_BATCH:
        self.delay()  # more are waiting: go on at once rather than at the next tick
    return len(refreshed or ())

