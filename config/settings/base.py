"""Settings shared by every environment. Everything that differs between machines is
read from the environment; see README.md, "Configuration"."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()


def env_secret(name, default=environ.Env.NOTSET):
    """Read a secret from NAME, or from the file NAME_FILE points at (Docker/K8s secrets)."""
    import os

    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return env(name, default=default)


# --- Core -----------------------------------------------------------------------------

SECRET_KEY = env_secret("SECRET_KEY", default="insecure-local-only-key-do-not-use-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    # The Django admin, on an admin site that also requires a verified second factor.
    "accounts.apps.RapportAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "phonenumber_field",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "accounts",
    "audit",
    "clients",
    "sessions.apps.TherapySessionsConfig",
    "alliance",
    "clinic",
    "webhooks",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "languages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "audit.context.AuditContextMiddleware",
    # Order matters: the absolute session limit logs out before the second-factor gate
    # decides where an authenticated user may go; axes must come last.
    "accounts.middleware.SessionAbsoluteTimeoutMiddleware",
    "accounts.middleware.SecondFactorRequiredMiddleware",
    "accounts.middleware.ClinicTimezoneMiddleware",
    # The staff member's language (or their clinic's), not the browser's.
    "languages.middleware.StaffLanguageMiddleware",
    "accounts.middleware.PrivatePagesNotCachedMiddleware",
    # A device handed to a client for an in-session check-in reaches nothing else.
    "alliance.checkins.handover.HandoverLockMiddleware",
    "axes.middleware.AxesMiddleware",
]

# The pages a client opens from a check-in link (/s/…, no login, no session) run only
# these (config/link_pages.py): security headers, URL fix-ups, anti-framing, CSP.
LINK_PAGES_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-csp's, with the header built once (a link page's never varies).
    "config.link_pages.LinkPagesCSPMiddleware",
]

# Messages can name a client ("Maria added to your caseload"): keep them server-side,
# not in a cookie anyone holding the browser can decode.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# The embedded default is SQLite under var/; production sets DATABASE_URL to PostgreSQL.

DATABASES = {
    # The URL holds the database password, so it is a secret: DATABASE_URL or DATABASE_URL_FILE.
    "default": env.db_url_config(env_secret("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'rapport.sqlite3'}")),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Axes first: it refuses a locked-out username or IP before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Sessions (the browser kind) ------------------------------------------------------
# 30 minutes idle logs a user out: the expiry is renewed on every request.

SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=12 * 60 * 60)

# --- Second factor (accounts/two_factor.py) -------------------------------------------
# Every staff account enrols a TOTP app at first login and gets ten one-time recovery
# codes; until the session is verified, accounts.middleware lets it reach only the 2FA
# pages, logout, static files and /healthz.

OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Rapport")
# A superuser in the Django admin must not read (or scan the QR code of) any staff
# member's second-factor secret: django-otp leaves the key and QR code out of its admin.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
RECOVERY_CODE_COUNT = 10

# --- Login lockout and rate limits ----------------------------------------------------
# django-axes: 5 failures for one username, or from one IP, lock that username or IP
# out for 15 minutes (a clinic admin can unlock earlier; see accounts/lockout.py).
# django-ratelimit caps login and password-reset POSTs per IP on top of that.

AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"  # LoginForm's field; it holds the email
AXES_USERNAME_CALLABLE = "accounts.lockout.username_from_request"
AXES_CLIENT_IP_CALLABLE = "audit.services.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# How many reverse proxies append to X-Forwarded-For in front of the app. 0 (local):
# trust only REMOTE_ADDR; production sets 1 for its proxy. The client-controlled left end
# of the header is never trusted, or an attacker could rotate it to dodge the lockout.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
RATELIMIT_VIEW = "accounts.views.rate_limited"
LOGIN_RATE_PER_IP = env("LOGIN_RATE_PER_IP", default="30/10m")
PASSWORD_RESET_RATE_PER_IP = env("PASSWORD_RESET_RATE_PER_IP", default="5/h")
PASSWORD_RESET_TIMEOUT = 60 * 60  # one hour for a reset link
# A staff invitation (and create_clinic's first-admin link) lasts longer: it is sent
# ahead of someone's first day, not asked for by the person about to use it.
STAFF_INVITE_TIMEOUT = env.int("STAFF_INVITE_TIMEOUT", default=3 * 24 * 60 * 60)

# --- Content Security Policy (django-csp 4) -------------------------------------------
# In every environment, so tests and `make run` catch an inline script or style the day
# it is written. Everything is served from our own origin; nothing inline.

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

# --- Data retention (clinic/rights/services.py) ----------------------------------------
# Discharged clients are erased this many days after discharge by `purge_expired_clients`.
# Default about seven years, a common retention period for mental-health records; set it
# to what your jurisdiction requires.

RETENTION_DAYS_AFTER_DISCHARGE = env.int("RETENTION_DAYS_AFTER_DISCHARGE", default=2557)

# --- Internationalisation ---------------------------------------------------------------

# Clients are written to in any of LANGUAGES (Client.language); staff pages are complete
# in STAFF_LANGUAGES (User.language, defaulting to Clinic.language). Catalogues live in
# locale/ and are compiled without GNU gettext (languages/catalogues.py, `make messages`).
# Translations of the check-in items are our own and not validated (alliance/checkins/wording.py).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("pt-br", "Português (Brasil)"),
    ("ar", "العربية"),
]
STAFF_LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ----------------------------------------------------------------------------
# EMAIL_URL picks the backend: smtp://user:pass@host:port, smtp+tls://..., or the
# embedded default, which writes each message as a file under var/outbox/.

EMAIL_OUTBOX_DIR = VAR_DIR / "outbox"
_email = env.email_url_config(env_secret("EMAIL_URL", default="filemail://"))  # holds the SMTP password
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(EMAIL_OUTBOX_DIR)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=15)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Rapport <no-reply@rapport.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Text messages ---------------------------------------------------------------------
# SMS_URL picks the provider (sms/__init__.py): twilio://SID:TOKEN@api.twilio.com?from=…,
# file:// (the embedded default: texts are files under var/outbox/) or none:// (off).
SMS_URL = env_secret("SMS_URL", default="file://")  # holds the provider's auth token
SMS_ENABLED = not SMS_URL.startswith("none:")
SMS_TIMEOUT = env.int("SMS_TIMEOUT", default=15)
PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", default="US")
PHONENUMBER_DB_FORMAT = "E164"

# --- Celery ---------------------------------------------------------------------------
# With REDIS_URL set, Redis carries the tasks. Without it, kombu's filesystem transport
# under var/ does, so `make run` needs no server. Tasks carry ids only; the database is
# the source of truth (see alliance/checkins/outbox.py): a message that is lost, duplicated or
# redelivered can delay an email but never send it twice, because each send first wins
# a conditional UPDATE on the invitation row.

REDIS_URL = env_secret("REDIS_URL", default="")  # may hold a password
CELERY_QUEUE_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Must exceed the longest countdown/eta we ever schedule (SURVEY_RETRY_MAX_SECONDS),
        # or Redis hands a merely waiting task to a second worker.
        "visibility_timeout": 2 * 60 * 60,
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR / "out"),
        "data_folder_out": str(CELERY_QUEUE_DIR / "out"),
        "processed_folder": str(CELERY_QUEUE_DIR / "processed"),
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
        "store_processed": False,
        # kombu polls the folder; its default of 1 s caps a worker at about one task a
        # second once its prefetch is used up.
        "polling_interval": 0.1,
    }
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="rapport")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only after it ran, and a worker that dies mid-task gives the
# message back, so a crash delays an email rather than losing it. The outbox's claim
# (alliance/checkins/outbox.py) makes the redelivered run harmless.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# The hard limit bounds how long one send attempt can hold its claim; SMTP itself gives
# up after EMAIL_TIMEOUT, well inside the soft limit. Only the prefork pool (the
# default) enforces the hard limit, so run workers on it.
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fixup closes the worker's database connections before and after every
# task unless this is set, so each email cost a new PostgreSQL connection. With it set,
# config/celery_app.py applies Django's own policy around each task instead, as around
# each web request (CONN_MAX_AGE, CONN_HEALTH_CHECKS, close after an error); the fixup
# still closes them every this many tasks.
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# --- Flags after a client's answer (alliance/flags/refresh.py) ----------------------------
# The answer marks its flags stale and queues nothing; beat's sweep this often finds the
# marks and recomputes (so a new flag shows within a few seconds).
FLAG_REFRESH_SECONDS = env.float("FLAG_REFRESH_SECONDS", default=2.0)
CELERY_BEAT_SCHEDULE = {
    "dispatch-due-invitations": {"task": "alliance.tasks.dispatch_due_invitations", "schedule": 60.0},
    "send-due-reminders": {"task": "alliance.tasks.send_due_reminders", "schedule": 60.0},
    "expire-invitations": {"task": "alliance.tasks.expire_invitations", "schedule": 60.0},
    "resume-flag-recomputes": {"task": "alliance.flags.tasks.resume_flag_recomputes", "schedule": 60.0},
    # A client's answer leaves its flags to this sweep (alliance/flags/refresh.py).
    "refresh-stale-flags": {"task": "alliance.flags.tasks.refresh_stale_flags", "schedule": FLAG_REFRESH_SECONDS},
    "dispatch-webhooks": {"task": "webhooks.tasks.dispatch_webhooks", "schedule": 60.0},
    # Dashboard figures whose refresh task was lost (clinic/dashboards/figures.py).
    "refresh-stale-figures": {"task": "clinic.dashboards.tasks.refresh_stale_figures", "schedule": 60.0},
}


# --- Flag recompute after a threshold change (alliance/flags/services.py) -----------------
# Clients per batch: progress is recorded, and a superseding change noticed, after each.
FLAG_RECOMPUTE_BATCH = env.int("FLAG_RECOMPUTE_BATCH", default=50)
# A run that shows no progress for this long is sent to a worker again (lost message,
# dead worker); a run that was only slow takes no harm from it.
FLAG_RECOMPUTE_STALE_SECONDS = env.int("FLAG_RECOMPUTE_STALE_SECONDS", default=300)

# --- Survey outbox ----------------------------------------------------------------------
# Timing of the check-in emails' delivery (the clinic sets when they are due; these set
# how the outbox copes with failures). See alliance/checkins/outbox.py.

# SMTP failures retry after base * 2**attempts seconds, capped; attempts are capped per
# clinic (Clinic.max_send_attempts).
SURVEY_RETRY_BASE_SECONDS = env.int("SURVEY_RETRY_BASE_SECONDS", default=60)
SURVEY_RETRY_MAX_SECONDS = env.int("SURVEY_RETRY_MAX_SECONDS", default=60 * 60)
# One send attempt holds its claim this long; it must exceed the hard task time limit,
# so a claim is never taken from an attempt that may still be talking to SMTP.
SURVEY_ATTEMPT_LEASE_SECONDS = CELERY_TASK_TIME_LIMIT + 60
# A claimed row may wait this long in the queue before a sweep takes it back (the worker
# holding it died, or the broker lost the message).
SURVEY_STALE_SENDING_SECONDS = env.int("SURVEY_STALE_SENDING_SECONDS", default=15 * 60)
# Rows one sweep claims in one transaction; a full batch queues the next sweep at once.
SURVEY_DISPATCH_BATCH = env.int("SURVEY_DISPATCH_BATCH", default=500)
# Rows a send task takes: its emails share one SMTP connection and its writes are a fixed
# number of statements, plus one UPDATE per message. A connection that fails stops the
# batch's emails (they retry with backoff), so one batch waits out at most one
# EMAIL_TIMEOUT, well inside the task time limit. A smaller batch spreads a sweep over
# more workers; 50 still splits a sweep of 500 ten ways, and halves what the batch's
# fixed statements and the task cost each email (dispatch ÷ smtplib with the same reuse,
# one run each: 53–58 % at 25, 66 % at 50). A crash still costs at most one duplicate,
# whatever the size: each message is marked before the next goes.
SURVEY_SEND_BATCH = env.int("SURVEY_SEND_BATCH", default=50)
# Unsubscribe links keep working this long after the email was sent.
SURVEY_UNSUBSCRIBE_DAYS = 90
# Survey pages, per client IP (django-ratelimit syntax).
SURVEY_RATE_LIMIT = env("SURVEY_RATE_LIMIT", default="30/m")
# How long an in-session link (QR code, short code, hand-over screen) stays open.
IN_SESSION_CHECKIN_MINUTES = env.int("IN_SESSION_CHECKIN_MINUTES", default=15)

# --- Webhooks (webhooks/outbox.py) --------------------------------------------------------
# A failed delivery is tried again after base * 2**(attempts - 1) seconds, capped; after
# this many failures in a row its subscription is turned off and the clinic admins told.
WEBHOOK_RETRY_BASE_SECONDS = env.int("WEBHOOK_RETRY_BASE_SECONDS", default=30)
WEBHOOK_RETRY_MAX_SECONDS = env.int("WEBHOOK_RETRY_MAX_SECONDS", default=60 * 60)
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=10)
# Short timeouts: a slow receiver must not hold a worker.
WEBHOOK_CONNECT_TIMEOUT = env.int("WEBHOOK_CONNECT_TIMEOUT", default=5)
WEBHOOK_READ_TIMEOUT = env.int("WEBHOOK_READ_TIMEOUT", default=10)
# Deliveries one task sends before handing the rest to a fresh one; subscriptions one
# sweep claims.
WEBHOOK_BATCH = env.int("WEBHOOK_BATCH", default=50)
WEBHOOK_DISPATCH_BATCH = env.int("WEBHOOK_DISPATCH_BATCH", default=200)
# A claimed subscription whose worker died is claimed again after this; it exceeds the
# hard task time limit, so a claim is never taken from a task that may still be sending.
WEBHOOK_LEASE_SECONDS = CELERY_TASK_TIME_LIMIT + 60
# Webhook URLs on loopback or private networks are refused (server-side request
# forgery, webhooks/destinations.py). Development and tests receive on loopback.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)

# --- Cache ------------------------------------------------------------------------------
# Rate limits count in the cache, so it must be shared by every web process: Redis when
# there is one; otherwise files under var/, which the processes of one machine share
# (counting is approximate there, acceptable for the single-machine default).

if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with one client per pool and a one-round-trip incr
            # (config/cache.py): the survey pages' rate limit runs on every request.
            "BACKEND": "config.cache.FastRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "rapport",
        }
    }
    # django-ratelimit warns of any backend not on its list; this one is Django's
    # RedisCache (supported) with the same atomic add and incr.
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.W001"]
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "django_ratelimit.E003"]
RATELIMIT_USE_CACHE = "default"
# Template fragments whose output depends only on the tag's arguments (the 0–10 scale,
# templates/partials/scale.html): in each process's memory, no round trip.
CACHES["template_fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "rapport-template-fragments",
    "OPTIONS": {"MAX_ENTRIES": 2000},
}

# --- REST API and FHIR (api/) ------------------------------------------------------------
# Keys only (api/authentication.py): a logged-in browser session reaches nothing there.
# JSON in, JSON out; one error shape for every 4xx (api/errors.py).

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.permissions.ApiKeyRateLimit"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Rapport API",
    "DESCRIPTION": (
        "Clients, sessions, check-ins, flags and dashboard figures of one clinic, for its other systems. "
        "Authenticate with `Authorization: Bearer <API key>`; each endpoint names the scope it needs. "
        "Every 4xx answers `{\"error\": {\"code\", \"message\", \"fields\"}}`. Session notes are never "
        "reachable here."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's files, served as our own static files.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}
# Requests a minute per API key (django-ratelimit syntax), counted in the shared cache.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/m")
# A larger request body answers 413 before it is parsed.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
# The canonical base of our FHIR Questionnaire and code system.
FHIR_CANONICAL_BASE = env("FHIR_CANONICAL_BASE", default=f"{SITE_URL}/fhir")

# --- Session notes --------------------------------------------------------------------
# Notes are encrypted with MultiFernet. NOTE_ENCRYPTION_KEYS is a comma-separated list of
# Fernet keys, newest first: prepend a new key to rotate, then run `rotate_note_keys`.

NOTE_ENCRYPTION_KEYS = env_secret(
    "NOTE_ENCRYPTION_KEYS",
    # A fixed development key: notes in a local SQLite file are demo data only.
    default="ZGV2LW9ubHktbm90ZS1rZXktMzItYnl0ZXMtbG9uZyE=",
)

# --- Logging --------------------------------------------------------------------------
# Logs carry ids and event names, never clinical text.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"redact_checkin_tokens": {"()": "config.log_filters.RedactCheckinTokens"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_checkin_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own handlers (its debug console, the dev server's) would print paths
        # unredacted: everything goes through the one console handler above.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
