"""The embedded default that `make run` uses: SQLite, filesystem broker, file emails."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
# The development outbox page (alliance/checkins/dev_views.py) lists var/outbox/ emails.
RAPPORT_DEV_OUTBOX = True
