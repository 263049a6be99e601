"""The client's check-in by email link, mounted at /s/ (config/urls.py). No login: the
token in the path is the only key. Fixed paths come before the token patterns."""

from django.urls import path

from alliance.views import survey

urlpatterns = [
    path("manage/<int:invitation_id>/resend/", survey.resend, name="invitation_resend"),
    path("thanks/", survey.thanks, name="survey_thanks"),
    path("<str:token>/", survey.checkin, name="survey_checkin"),
    path("<str:token>/unsubscribe/", survey.unsubscribe, name="survey_unsubscribe"),
]
