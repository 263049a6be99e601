import pytest
from django.urls import reverse

from audit.models import AuditEvent
from sessions.models import SessionNote

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(client, login, alice, new_session_url, session_form):
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url, note="Only for Alice."))
    client.logout()
    return SessionNote.objects.get().session


def test_it_shows_the_note_to_its_author_and_audits_the_read(client, login, alice, logged):
    login(client, alice)
    response = client.get(reverse("session_detail", args=[logged.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only for Alice." in html
    assert "Edit session" in html
    assert AuditEvent.objects.filter(action="note.read", actor=alice, object_id=str(logged.pk)).count() == 1


def test_it_shows_the_clinic_admin_the_scores_but_never_the_note(client, login, carol, logged):
    login(client, carol)
    response = client.get(reverse("session_detail", args=[logged.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Only for Alice." not in html
    assert "Only the therapist who wrote it can read it." in html
    assert "33" in html  # the therapist's total
    assert "Edit session" not in html
    assert not AuditEvent.objects.filter(action="note.read").exists()


def test_it_shows_the_edit_history(client, login, alice, logged, session_form):
    login(client, alice)
    url = reverse("session_edit", args=[logged.pk])
    client.post(url, session_form(url, format="video", note="Only for Alice."))
    html = client.get(reverse("session_detail", args=[logged.pk])).content.decode()
    assert "Alice Therapist changed format" in html


def test_the_clients_comment_is_for_the_therapist_alone_and_keeps_its_lines(client, login, alice, carol, logged):
    from tests.factories import CheckInFactory

    CheckInFactory(session=logged, comment="Felt heard.\nWant to talk about work.")
    login(client, alice)
    html = client.get(reverse("session_detail", args=[logged.pk])).content.decode()
    assert "Felt heard.<br>Want to talk about work." in html
    login(client, carol)
    html = client.get(reverse("session_detail", args=[logged.pk])).content.decode()
    assert "Felt heard." not in html
