from django.urls import path

from . import clinic_views

# Mounted at /clinic/. The dashboards and their exports are in alliance/urls.py.
urlpatterns = [
    path("staff/", clinic_views.staff_list, name="clinic_staff"),
    path("staff/invite/", clinic_views.staff_invite, name="clinic_staff_invite"),
    path("staff/<int:pk>/deactivate/", clinic_views.staff_deactivate, name="clinic_staff_deactivate"),
    path("staff/<int:pk>/reassign/", clinic_views.staff_reassign, name="clinic_staff_reassign"),
    path("settings/", clinic_views.clinic_settings, name="clinic_settings"),
    path("join/<uidb64>/<token>/", clinic_views.staff_join, name="clinic_join"),
]
