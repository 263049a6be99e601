"""Reads for the API: everything an API key reaches, always inside its own clinic.
A record of another clinic is simply not in these querysets, so its id answers 404
(never 403: a guessed id reveals nothing). No queryset here touches session notes."""

from django.shortcuts import get_object_or_404

from accounts.models import User
from alliance.models import CheckIn, Flag
from clients.models import Client
from sessions.models import Session


def clients_for_key(key):
    return Client.objects.filter(clinic_id=key.clinic_id).select_related("therapist")


def client_for_key(key, external_id):
    return get_object_or_404(clients_for_key(key).select_related("clinic"), external_id=external_id)


def therapists_for_key(key):
    return User.objects.filter(clinic_id=key.clinic_id, role=User.Role.THERAPIST, is_active=True)


def sessions_for_key(key):
    return Session.objects.filter(client__clinic_id=key.clinic_id).select_related("client", "invitation")


def session_for_key(key, pk):
    return get_object_or_404(sessions_for_key(key).select_related("client__clinic"), pk=pk)


def checkins_for_key(key, *, with_comments=False):
    checkins = CheckIn.objects.filter(client__clinic_id=key.clinic_id).select_related("client", "session")
    # Without the comments scope the comment is not even read from the database.
    return checkins if with_comments else checkins.defer("comment")


def flags_for_key(key):
    return Flag.objects.filter(client__clinic_id=key.clinic_id).select_related("client").prefetch_related("strategies")


def flag_for_key(key, pk):
    return get_object_or_404(flags_for_key(key).select_related("client__therapist", "client__clinic"), pk=pk)
