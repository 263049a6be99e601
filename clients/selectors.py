"""Reads of client records, scoped to who is asking."""

from django.shortcuts import get_object_or_404

from .models import Client


def clients_visible_to(user):
    """The clients a user may see at all: a therapist their own caseload, a clinic
    admin their whole clinic (scores only; notes are guarded separately), anyone else
    nothing. Every client lookup in a view starts here, so a guessed id from another
    caseload or clinic answers 404 rather than 403 and reveals nothing."""
    if not user.is_authenticated or user.clinic_id is None:
        return Client.objects.none()
    qs = Client.objects.filter(clinic_id=user.clinic_id)
    if user.is_therapist:
        qs = qs.filter(therapist=user)
    elif not user.is_clinic_admin:
        return Client.objects.none()
    return qs


def client_for_user(user, pk):
    return get_object_or_404(clients_visible_to(user).select_related("therapist", "clinic"), pk=pk)
