# Importing the Celery app here makes sure `shared_task` binds to it when Django starts.
from .celery_app import app as celery_app

__all__ = ("celery_app",)
