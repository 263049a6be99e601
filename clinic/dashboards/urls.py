from django.urls import path

from . import exports, views

# Mounted at /clinic/ (clinic/urls.py).
urlpatterns = [
    path("dashboard/", views.clinic_dashboard, name="clinic_dashboard"),
    path("dashboard/export/<slug:table>.csv", exports.dashboard_export, name="dashboard_export"),
    path("therapists/<int:pk>/", views.clinic_therapist, name="clinic_therapist"),
    path("repair/", views.clinic_repair, name="clinic_repair"),
]
