from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.views import home
from config.health import healthz

urlpatterns = [
    # The client's check-in by email link: no login, token in the path. First, as the
    # busiest path and the one whose resolving should not walk every staff page.
    path("s/", include("alliance.checkins.urls")),
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("accounts.urls")),
    # Therapists' caseload and client records (clients/), sessions and notes (sessions/).
    path("", include("clients.urls")),
    path("", include("sessions.urls")),
    # Flags and the needs-attention list (alliance/flags/).
    path("", include("alliance.flags.urls")),
    # A therapist's own calibration and what worked (alliance/calibration/).
    path("", include("alliance.calibration.urls")),
    # A supervisor's read-only pages (supervision/).
    path("", include("supervision.urls")),
    # The check-in's other channels: in the session (QR, short code, hand-over) and SMS webhooks.
    path("", include("alliance.checkins.channel_urls")),
    # Clinic admin: dashboards, staff, settings and data rights (clinic/), audit trail.
    path("clinic/", include("clinic.urls")),
    path("clinic/audit/", include("audit.urls")),
    # Signed events for the clinic's other systems (webhooks/).
    path("clinic/webhooks/", include("webhooks.urls")),
    # The clinic's other systems: the REST API (api/) and its FHIR R4 views (api/fhir/).
    path("api/v1/", include("api.urls")),
    path("fhir/", include("api.fhir.urls")),
    path("admin/", admin.site.urls),
]

# Rapport's apology page, or a traceback under `make run` (config/errors.py).
handler500 = "config.errors.server_error"

if getattr(settings, "RAPPORT_DEV_OUTBOX", False):
    # Development only: browse the emails the embedded default writes to var/outbox/.
    urlpatterns += [path("dev/", include("alliance.checkins.dev_urls"))]
