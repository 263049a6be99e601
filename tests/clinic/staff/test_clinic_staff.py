"""Running the clinic's staff: invitations, deactivation, reassigning a caseload."""

import re

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from clients.models import Client
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-unusual-passphrase-42"


def invite(client, email="dan@example.com", full_name="Dan Newcomer"):
    return client.post(reverse("clinic_staff_invite"), {"email": email, "full_name": full_name})


def invite_link():
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    path = re.search(r"https?://[^/\s]+(/clinic/join/[^/\s]+/[^/\s]+/)", message.body).group(1)
    return message, path


def test_it_invites_a_therapist_end_to_end(client, login, carol, django_capture_on_commit_callbacks):
    login(client, carol)
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(client)
    assert response.status_code == 302
    dan = User.objects.get(email="dan@example.com")
    assert dan.clinic == carol.clinic and dan.is_therapist and not dan.has_usable_password()

    message, path = invite_link()
    assert message.to == ["dan@example.com"]
    assert "Harbour Clinic" in message.subject
    assert path in message.alternatives[0][0]

    client.logout()
    assert client.get(path).status_code == 200
    response = client.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("login")

    response = client.post(reverse("login"), {"username": "dan@example.com", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).wsgi_request.user.email == "dan@example.com"

    client.logout()
    refused = client.get(path)
    assert refused.status_code == 400 and b"no longer works" in refused.content
    again = client.post(path, {"new_password1": "another-passphrase-77x", "new_password2": "another-passphrase-77x"})
    assert again.status_code == 400
    dan.refresh_from_db()
    assert dan.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="staff.invite", object_id=str(dan.pk)).exists()
    assert AuditEvent.objects.filter(action="staff.join", object_id=str(dan.pk)).exists()


def test_it_sends_nothing_until_the_invitation_is_committed(client, login, carol, django_capture_on_commit_callbacks):
    login(client, carol)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite(client)
    assert mail.outbox == [] and len(callbacks) == 1


def test_it_refuses_a_weak_password_on_the_join_page(client, login, carol, django_capture_on_commit_callbacks):
    login(client, carol)
    with django_capture_on_commit_callbacks(execute=True):
        invite(client)
    _, path = invite_link()
    client.logout()
    response = client.post(path, {"new_password1": "short", "new_password2": "short"})
    assert response.status_code == 400
    assert not User.objects.get(email="dan@example.com").has_usable_password()


def test_it_refuses_a_tampered_link(client, alice):
    assert client.get("/clinic/join/MQ/abc-123/").status_code == 400


def test_it_refuses_to_invite_an_existing_email(client, login, carol, alice):
    login(client, carol)
    response = invite(client, email="ALICE@example.com")
    assert response.status_code == 400
    assert b"already uses this email address" in response.content
    assert mail.outbox == []


def test_an_address_at_another_clinic_gets_the_same_answer_as_a_new_one(
    client, login, carol, mallory, django_capture_on_commit_callbacks
):
    login(client, carol)
    with django_capture_on_commit_callbacks(execute=True):
        fresh = invite(client, email="dan@example.com")
        elsewhere = invite(client, email="MALLORY@example.com", full_name="Mal")
    assert fresh.status_code == elsewhere.status_code == 302
    said = [str(m) for m in get_messages(fresh.wsgi_request)], [str(m) for m in get_messages(elsewhere.wsgi_request)]
    assert said[0][-1] == "Invitation sent to dan@example.com. The link works once, for a limited time."
    assert said[1][-1] == "Invitation sent to mallory@example.com. The link works once, for a limited time."
    mallory.refresh_from_db()
    assert mallory.clinic != carol.clinic and mallory.full_name == "Mallory Elsewhere"
    notice = [m for m in mail.outbox if m.to == ["mallory@example.com"]]
    assert len(notice) == 1 and "/clinic/join/" not in notice[0].body
    assert "already has a Rapport account" in notice[0].body


def test_it_refuses_an_invalid_email(client, login, carol):
    login(client, carol)
    assert invite(client, email="not-an-email").status_code == 400
    assert not User.objects.filter(full_name="Dan Newcomer").exists()


def test_it_lists_the_clinics_staff_only(client, login, carol, alice, bob, mallory):
    login(client, carol)
    response = client.get(reverse("clinic_staff"))
    assert response.status_code == 200
    assert b"alice@example.com" in response.content and b"mallory" not in response.content


# --- Deactivation -------------------------------------------------------------------------

def test_it_deactivates_a_therapist_who_then_cannot_log_in(client, login, carol, alice, password):
    login(client, carol)
    response = client.post(reverse("clinic_staff_deactivate", args=[alice.id]))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.is_active
    assert AuditEvent.objects.filter(action="staff.deactivate", object_id=str(alice.pk)).exists()
    client.logout()
    response = client.post(reverse("login"), {"username": "alice@example.com", "password": password})
    assert not client.get(reverse("home")).wsgi_request.user.is_authenticated


def test_it_ends_a_deactivated_therapists_open_session(client, login, carol, alice):
    from django.test import Client as Browser

    alices_browser = login(Browser(), alice)
    assert alices_browser.get(reverse("needs_attention")).status_code == 200
    login(client, carol)
    client.post(reverse("clinic_staff_deactivate", args=[alice.id]))
    assert alices_browser.get(reverse("needs_attention")).status_code == 302


def test_it_does_not_let_an_admin_deactivate_themselves(client, login, carol):
    login(client, carol)
    response = client.post(reverse("clinic_staff_deactivate", args=[carol.id]))
    assert response.status_code == 400
    assert b"cannot deactivate your own account" in response.content
    carol.refresh_from_db()
    assert carol.is_active


def test_it_answers_404_for_staff_of_another_clinic(client, login, carol, mallory):
    login(client, carol)
    assert client.post(reverse("clinic_staff_deactivate", args=[mallory.id])).status_code == 404
    mallory.refresh_from_db()
    assert mallory.is_active


def test_it_refuses_get_for_deactivation(client, login, carol, alice):
    login(client, carol)
    assert client.get(reverse("clinic_staff_deactivate", args=[alice.id])).status_code == 405


# --- Reassigning a caseload -----------------------------------------------------------------

def test_it_moves_a_whole_caseload_in_one_step(client, login, carol, alice, bob):
    clients = [ClientFactory(therapist=alice) for _ in range(3)]
    login(client, carol)
    response = client.post(reverse("clinic_staff_reassign", args=[alice.id]), {"to_therapist": bob.id})
    assert response.status_code == 302
    assert set(Client.objects.filter(therapist=bob)) == set(clients)
    assert AuditEvent.objects.filter(action="client.reassign").count() == 3


def test_it_moves_only_the_selected_clients(client, login, carol, alice, bob):
    keep, move = ClientFactory(therapist=alice), ClientFactory(therapist=alice)
    login(client, carol)
    client.post(reverse("clinic_staff_reassign", args=[alice.id]), {"to_therapist": bob.id, "clients": [move.id]})
    keep.refresh_from_db(), move.refresh_from_db()
    assert keep.therapist == alice and move.therapist == bob


def test_it_refuses_to_move_clients_to_an_inactive_or_foreign_therapist(client, login, carol, alice, bob, mallory):
    c = ClientFactory(therapist=alice)
    bob.is_active = False
    bob.save()
    login(client, carol)
    for target in (bob, mallory):
        response = client.post(reverse("clinic_staff_reassign", args=[alice.id]), {"to_therapist": target.id})
        assert response.status_code == 400
    c.refresh_from_db()
    assert c.therapist == alice


def test_it_refuses_clients_from_outside_the_caseload(client, login, carol, alice, bob, bob_client):
    login(client, carol)
    response = client.post(
        reverse("clinic_staff_reassign", args=[alice.id]), {"to_therapist": bob.id, "clients": [bob_client.id]}
    )
    assert response.status_code == 400


def test_it_shows_the_reassign_form(client, login, carol, alice, bob, alice_client):
    login(client, carol)
    response = client.get(reverse("clinic_staff_reassign", args=[alice.id]))
    assert response.status_code == 200
    assert b"J.D." in response.content and b"Bob Therapist" in response.content


# --- Permissions ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["clinic_staff", "clinic_settings"])
def test_it_forbids_clinic_pages_to_therapists(client, login, alice, name):
    login(client, alice)
    assert client.get(reverse(name)).status_code == 403


def test_it_forbids_therapists_to_invite_or_deactivate(client, login, alice, bob):
    login(client, alice)
    assert invite(client).status_code == 403
    assert client.post(reverse("clinic_staff_deactivate", args=[bob.id])).status_code == 403
    assert client.post(reverse("clinic_staff_reassign", args=[bob.id]), {"to_therapist": alice.id}).status_code == 403


def test_it_answers_404_to_an_admin_of_another_clinic_on_our_staff(client, login, mallory, alice, bob):
    admin_elsewhere = UserFactory(clinic=mallory.clinic, role="clinic_admin")
    login(client, admin_elsewhere)
    assert client.get(reverse("clinic_staff_reassign", args=[alice.id])).status_code == 404
    assert client.post(reverse("clinic_staff_deactivate", args=[alice.id])).status_code == 404


def _invite_token_made(user, seconds_ago):
    """The token the invitation email would have carried if sent `seconds_ago`."""
    from accounts.tokens import staff_invite_token_generator as gen

    ts = gen._num_seconds(gen._now()) - seconds_ago
    return gen._make_token_with_timestamp(user, ts, gen.secret)


def _join_path(user, token):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return reverse("clinic_join", args=[urlsafe_base64_encode(force_bytes(user.pk)), token])


def test_an_invitation_still_works_the_next_day_and_not_after_three(client, carol):
    newcomer = UserFactory(email="dan@example.com", clinic=carol.clinic)
    newcomer.set_unusable_password()
    newcomer.save()
    assert client.get(_join_path(newcomer, _invite_token_made(newcomer, 26 * 3600))).status_code == 200
    assert client.get(_join_path(newcomer, _invite_token_made(newcomer, 73 * 3600))).status_code == 400


def test_a_password_reset_token_does_not_open_the_join_page(client, carol):
    from django.contrib.auth.tokens import default_token_generator

    newcomer = UserFactory(email="dan@example.com", clinic=carol.clinic)
    assert client.get(_join_path(newcomer, default_token_generator.make_token(newcomer))).status_code == 400
