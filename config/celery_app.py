import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("rapport")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ensure_filesystem_broker_folders():
    """kombu's filesystem transport expects its folders to exist."""
    if app.conf.broker_url.startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            folder = app.conf.broker_transport_options.get(key)
            if folder:
                Path(folder).mkdir(parents=True, exist_ok=True)


ensure_filesystem_broker_folders()
