from django.urls import path

from . import views

# Mounted at /clinic/ (clinic/urls.py).
urlpatterns = [
    path("staff/", views.staff_list, name="clinic_staff"),
    path("staff/invite/", views.staff_invite, name="clinic_staff_invite"),
    path("staff/<int:pk>/deactivate/", views.staff_deactivate, name="clinic_staff_deactivate"),
    path("staff/<int:pk>/reassign/", views.staff_reassign, name="clinic_staff_reassign"),
    path("staff/<int:pk>/supervisees/", views.staff_supervisees, name="clinic_staff_supervisees"),
    path("join/<uidb64>/<token>/", views.staff_join, name="clinic_join"),
]
