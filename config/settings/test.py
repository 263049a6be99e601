"""Settings for pytest. DATABASE_URL and REDIS_URL are honoured when set (CI sets both to
real servers); otherwise SQLite and the filesystem broker, as under `make run`."""

import os

from .base import *  # noqa: F401,F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
RAPPORT_DEV_OUTBOX = True

# Each pytest process gets its own test database and its own Celery queue, so two test
# runs on one machine never share state. Worker subprocesses started by tests
# (tests/alliance/conftest.py) inherit RAPPORT_TEST_RUN_ID, and RAPPORT_TEST_DB_NAME
# points them straight at the test database the pytest process created.
_RUN_ID = os.environ.setdefault("RAPPORT_TEST_RUN_ID", str(os.getpid()))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so Celery worker subprocesses can open the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_RUN_ID}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_rapport_{_RUN_ID}"}
    # A worker kept alive between tests must not hold a connection the teardown's
    # DROP DATABASE would wait for.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if os.environ.get("RAPPORT_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["RAPPORT_TEST_DB_NAME"]
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default=f"rapport-test-{_RUN_ID}")

# Rate limits count per process here (the live server runs in the test process).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
          "template_fragments": CACHES["template_fragments"]}  # noqa: F405
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.E003", "django_ratelimit.W001"]
SURVEY_RATE_LIMIT = "10000/m"

# Small outbox timings so retry, reclaim and crash tests finish in seconds. The lease
# still exceeds the hard time limit, as in production.
SURVEY_RETRY_BASE_SECONDS = 1
SURVEY_RETRY_MAX_SECONDS = 4
CELERY_TASK_TIME_LIMIT = 10
CELERY_TASK_SOFT_TIME_LIMIT = 8
EMAIL_TIMEOUT = 5
SURVEY_ATTEMPT_LEASE_SECONDS = CELERY_TASK_TIME_LIMIT + 2
SURVEY_STALE_SENDING_SECONDS = 10

# Webhook receivers in tests are http.server threads on loopback; the SSRF tests turn
# this off. Small timings so retry and disable tests finish in seconds.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = True
WEBHOOK_RETRY_BASE_SECONDS = 1
WEBHOOK_RETRY_MAX_SECONDS = 2
WEBHOOK_DISABLE_AFTER_FAILURES = 3
WEBHOOK_CONNECT_TIMEOUT = 2
WEBHOOK_READ_TIMEOUT = 3
WEBHOOK_LEASE_SECONDS = CELERY_TASK_TIME_LIMIT + 2

# Small batches, so a recompute of a few clients shows its progress step by step.
FLAG_RECOMPUTE_BATCH = 2
