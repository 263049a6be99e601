"""Celery tasks of the dashboard figures. Thin: the work is in clinic/dashboards/
figures.py. Arguments are ids only."""

from celery import shared_task

from . import figures

# Acknowledged after it ran: a worker that dies mid-refresh leaves the marks (its
# transaction rolls back), and the redelivery or the sweep refreshes again.
OPTIONS = dict(acks_late=True, reject_on_worker_lost=True, ignore_result=True)


@shared_task(name=figures.REFRESH_TASK, **OPTIONS)
def refresh_clinic_figures(clinic_id):
    return figures.figures_refresh_pending(clinic_id)


@shared_task(name="clinic.dashboards.tasks.refresh_stale_figures", ignore_result=True)
def refresh_stale_figures():
    """The sweep: every marked day of every clinic, whatever happened to its task."""
    return figures.figures_refresh_pending()
