from django.urls import path

from . import views

urlpatterns = [
    # Therapists: act on flags, see what needs attention across the caseload.
    path("flags/<int:pk>/acknowledge/", views.flag_acknowledge_view, name="flag_acknowledge"),
    path("attention/", views.needs_attention, name="needs_attention"),
]
