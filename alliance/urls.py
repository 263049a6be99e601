from django.urls import path

from .views import dashboard, exports

urlpatterns = [
    # Clinic admins: dashboards and their CSV exports (staff and settings are in accounts).
    path("clinic/dashboard/", dashboard.clinic_dashboard, name="clinic_dashboard"),
    path("clinic/dashboard/export/<slug:table>.csv", exports.dashboard_export, name="dashboard_export"),
    path("clinic/therapists/<int:pk>/", dashboard.clinic_therapist, name="clinic_therapist"),
]
