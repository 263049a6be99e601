"""`make bench`: production's code paths (PostgreSQL, Redis cache and broker, no debug,
whitenoise) on loopback, with no HTTPS redirect and a survey rate limit that a load
generator on one IP does not trip. See bench/README section in README.md."""

from .base import *  # noqa: F401,F403
from .base import env

DEBUG = False
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
SECURE_SSL_REDIRECT = False
RAPPORT_DEV_OUTBOX = False
# The minimal comparison view lives in bench/ and is mounted only here.
ROOT_URLCONF = "bench.urls"
# Rate limiting still runs on every survey request (a Redis increment); only its limit
# is raised so that one loopback client is not refused.
SURVEY_RATE_LIMIT = "1000000/m"
LOG_LEVEL = env("LOG_LEVEL", default="WARNING")
LOGGING["root"]["level"] = LOG_LEVEL  # noqa: F405
