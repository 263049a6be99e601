"""The check-in's other channels, mounted at the site root (config/urls.py): in the
session (QR code and short code, the hand-over screen) and the SMS provider's webhooks.
The client's own pages stay under /s/ (alliance/checkins/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("c/", views.code_entry, name="checkin_code"),
    path("sessions/<int:session_pk>/check-in-now/phone/", views.in_session_phone, name="in_session_phone"),
    path("sessions/<int:session_pk>/check-in-now/hand-over/", views.handover_start, name="handover_start"),
    path("check-in-now/<int:invitation_id>/status/", views.in_session_status, name="in_session_status"),
    path("hand-over/", views.handover_checkin, name="handover_checkin"),
    path("hand-over/thanks/", views.handover_thanks, name="handover_thanks"),
    path("hand-over/unlock/", views.handover_unlock, name="handover_unlock"),
    path("webhooks/sms/status/", views.sms_status, name="sms_status"),
    path("webhooks/sms/incoming/", views.sms_incoming, name="sms_incoming"),
]
