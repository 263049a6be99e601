"""Production: PostgreSQL, Redis, real SMTP. Secrets have no default here: a missing one
stops the process at start instead of running with a guessable value."""

from .base import *  # noqa: F401,F403
from .base import env, env_secret

DEBUG = False
SECRET_KEY = env_secret("SECRET_KEY")
NOTE_ENCRYPTION_KEYS = env_secret("NOTE_ENCRYPTION_KEYS")
DATABASES = {"default": env.db_url_config(env_secret("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
SITE_URL = env("SITE_URL").rstrip("/")
RAPPORT_DEV_OUTBOX = False
# Never webhooks into our own network (webhooks/destinations.py).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
# Texting is off until a provider is configured (SMS_URL=twilio://…, see .env.example).
SMS_URL = env_secret("SMS_URL", default="none://")
SMS_ENABLED = not SMS_URL.startswith("none:")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- HTTPS and cookies ----------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# The container healthcheck and load balancers probe /healthz over plain HTTP inside
# the network; it carries no data, so it need not be redirected to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# --- Proxy, cache -----------------------------------------------------------------------
# One reverse proxy (the load balancer) appends the client's address to X-Forwarded-For;
# lockouts, rate limits and the audit trail read that hop, never the client-supplied ones.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)

# Rate-limit counters must be shared by every web process: base.py puts them in Redis
# whenever REDIS_URL is set, as it is in production.
