"""Everything under /clinic/ is a clinic admin's page, and lives in this package, one
folder per page family. The audit trail's pages (/clinic/audit/) are the audit app's."""

from django.urls import include, path

urlpatterns = [
    path("", include("clinic.dashboards.urls")),
    path("", include("clinic.staff.urls")),
    path("", include("clinic.settings.urls")),
    path("", include("clinic.api_keys.urls")),
    path("clients/", include("clinic.rights.urls")),
]
