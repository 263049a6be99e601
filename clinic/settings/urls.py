from django.urls import path

from . import views

# Mounted at /clinic/ (clinic/urls.py).
urlpatterns = [
    path("settings/", views.clinic_settings, name="clinic_settings"),
    path("settings/recompute/", views.clinic_settings_recompute, name="clinic_settings_recompute"),
]
