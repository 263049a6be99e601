"""Settings for pytest. DATABASE_URL and REDIS_URL are honoured when set (CI sets both to
real servers); otherwise SQLite and the filesystem broker, as under `make run`."""

import os

from .base import *  # noqa: F401,F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
RAPPORT_DEV_OUTBOX = True

# Each pytest process gets its own test database (and its own Celery queue, see
# tests/conftest.py), so two test runs on one machine never share state. Worker
# subprocesses started by tests are pointed at the same names through the environment.
_RUN_ID = os.environ.setdefault("RAPPORT_TEST_RUN_ID", str(os.getpid()))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so Celery worker subprocesses can open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_RUN_ID}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_rapport_{_RUN_ID}"}
