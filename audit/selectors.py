from datetime import datetime, time, timedelta

from django.utils import timezone

from .models import AuditEvent


def audit_events_for_clinic(clinic, *, actor=None, action="", object_type="", object_id="", date_from=None, date_to=None):
    """The clinic's own audit rows, newest first. Rows of other clinics and platform rows
    (clinic empty) are never part of it."""
    qs = AuditEvent.objects.filter(clinic=clinic).select_related("actor")
    if actor is not None:
        qs = qs.filter(actor=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type.strip().lower())
    if object_id:
        qs = qs.filter(object_id=object_id.strip())
    tz = clinic.tzinfo
    if date_from:
        qs = qs.filter(at__gte=timezone.make_aware(datetime.combine(date_from, time.min), tz))
    if date_to:
        qs = qs.filter(at__lt=timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz))
    return qs


def audit_actions_for_clinic(clinic):
    return list(AuditEvent.objects.filter(clinic=clinic).order_by("action").values_list("action", flat=True).distinct())
