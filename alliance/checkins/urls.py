"""The client's check-in by email link, mounted at /s/ (config/urls.py). No login: the
token in the path is the only key. Fixed paths come before the token patterns."""

from django.urls import path

from . import views

urlpatterns = [
    path("manage/<int:invitation_id>/resend/", views.resend, name="invitation_resend"),
    path("thanks/", views.thanks, name="survey_thanks"),
    path("<str:token>/", views.checkin, name="survey_checkin"),
    path("<str:token>/unsubscribe/", views.unsubscribe, name="survey_unsubscribe"),
]
