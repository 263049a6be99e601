"""Reads of therapy sessions and notes, scoped to who is asking."""

from django.shortcuts import get_object_or_404

from clients.selectors import clients_visible_to

from .models import Session, SessionNote


def sessions_visible_to(user):
    """The sessions of the clients a user may see (clients.selectors.clients_visible_to):
    a therapist their caseload's, a clinic admin their clinic's. Anything else is out of
    reach, so a guessed id answers 404 and reveals nothing."""
    return Session.objects.filter(client__in=clients_visible_to(user))


def session_for_user(user, pk):
    return get_object_or_404(
        sessions_visible_to(user).select_related("client", "client__clinic", "client__therapist", "therapist"),
        pk=pk,
    )


def note_for_author(user, session):
    """The text of the session's note, only for the therapist who wrote it; None for
    anyone else (a clinic admin included) and when there is no note.

    This is the only place a note is decrypted for display."""
    if not getattr(user, "is_authenticated", False):
        return None
    note = SessionNote.objects.filter(session=session, author=user).only("ciphertext").first()
    return None if note is None else note.text
