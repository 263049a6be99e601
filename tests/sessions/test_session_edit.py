import pytest
from django.urls import reverse

from alliance.models import CheckIn, SurveyInvitation
from audit.models import AuditEvent
from sessions.models import SessionChange, SessionNote
from sessions.selectors import note_for_author

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(client, login, alice, new_session_url, session_form):
    """A session alice logged through the page, with a note and her rating."""
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url, note="First thoughts."))
    return SessionNote.objects.get().session


def test_it_fills_the_form_with_the_session_and_the_authors_note(client, logged):
    response = client.get(reverse("session_edit", args=[logged.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["note"].value() == "First thoughts."
    assert form["trust"].value() == 8
    assert form["start_time"].value().strftime("%H:%M") == "10:00"
    assert AuditEvent.objects.filter(action="note.read", object_id=str(logged.pk)).count() == 1


def test_it_records_which_fields_changed_and_never_the_note(client, logged, session_form):
    url = reverse("session_edit", args=[logged.pk])
    data = session_form(url, note="Second, longer thoughts.", format="video", trust="6")
    response = client.post(url, data)
    assert response.status_code == 302
    change = SessionChange.objects.get(session=logged)
    assert change.changed_by.email == "alice@example.com"
    assert sorted(change.fields) == ["format", "note", "trust"]
    assert "thoughts" not in str(change.fields)
    assert note_for_author(change.changed_by, logged) == "Second, longer thoughts."
    assert CheckIn.objects.get(session=logged, source="therapist").trust == 6
    event = AuditEvent.objects.get(action="session.update")
    assert event.detail == {"fields": change.fields}


def test_it_records_nothing_when_nothing_changed(client, logged, session_form):
    url = reverse("session_edit", args=[logged.pk])
    data = session_form(url, note="First thoughts.")
    assert client.post(url, data).status_code == 302
    assert SessionChange.objects.count() == 0
    assert not AuditEvent.objects.filter(action="session.update").exists()


def test_it_cancels_the_invitation_and_drops_the_rating_when_it_becomes_a_no_show(client, logged, session_form):
    url = reverse("session_edit", args=[logged.pk])
    data = session_form(url, attendance="no_show", trust="", empathy="", boundaries="", collaboration="")
    assert client.post(url, data).status_code == 302
    assert SurveyInvitation.objects.get(session=logged).status == SurveyInvitation.Status.CANCELLED
    assert not CheckIn.objects.filter(session=logged).exists()
    assert "attendance" in SessionChange.objects.get().fields


def test_it_refuses_bad_input_and_changes_nothing(client, logged, session_form):
    url = reverse("session_edit", args=[logged.pk])
    response = client.post(url, session_form(url, trust="12", note="Overwritten?"))
    assert response.status_code == 400
    assert "Scores run from 0 to 10." in response.content.decode()
    assert note_for_author(logged.therapist, logged) == "First thoughts."
    assert SessionChange.objects.count() == 0


def test_it_refuses_a_replayed_edit(client, logged, session_form):
    url = reverse("session_edit", args=[logged.pk])
    data = session_form(url, format="phone")
    assert client.post(url, data).status_code == 302
    replay = client.post(url, {**data, "format": "video"})
    assert replay.status_code == 409
    logged.refresh_from_db()
    assert logged.format == "phone"
    assert SessionChange.objects.count() == 1


def test_it_hides_and_keeps_another_therapists_note(client, login, logged, alice_client, bob, session_form):
    # The client moves to bob's caseload: bob may edit the session, never alice's note.
    alice_client.therapist = bob
    alice_client.save()
    client.logout()
    login(client, bob)
    url = reverse("session_edit", args=[logged.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "First thoughts." not in page.content.decode()
    assert "note" not in page.context["form"].fields
    data = session_form(url, format="video", note="Bob's attempt")
    assert client.post(url, data).status_code == 302
    assert note_for_author(logged.therapist, logged) == "First thoughts."
    assert SessionChange.objects.get().fields == ["format"]
