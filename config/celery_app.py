import os
from pathlib import Path

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("rapport")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Tasks live beside the capability they serve (alliance/checkins/tasks.py, …), not in
# each app's top-level tasks.py, so the packages are named here.
TASK_PACKAGES = ["alliance.checkins", "alliance.flags", "webhooks", "clinic.dashboards"]
app.autodiscover_tasks(TASK_PACKAGES)


@task_prerun.connect
@task_postrun.connect
def close_old_db_connections(task=None, **kwargs):
    """Before and after each task, close the database connections that Django would
    close at a request's start and end: older than CONN_MAX_AGE (0 closes every time),
    failing their health check, or broken by an error. See CELERY_DB_REUSE_MAX in
    config/settings/base.py. Eager tasks run inside the caller's transaction: never
    touch its connection."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


def ensure_filesystem_broker_folders():
    """kombu's filesystem transport expects its folders to exist."""
    if app.conf.broker_url.startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            folder = app.conf.broker_transport_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)


ensure_filesystem_broker_folders()
