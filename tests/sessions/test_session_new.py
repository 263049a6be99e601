from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, SurveyInvitation
from audit.models import AuditEvent
from sessions.models import Session, SessionNote
from sessions.selectors import note_for_author
from tests.factories import ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_it_shows_the_form_with_a_one_time_token(client, login, alice, new_session_url):
    login(client, alice)
    response = client.get(new_session_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="date"' in html and 'type="time"' in html
    assert 'name="form_token"' in html
    assert "<script>" not in html and "style=" not in html
    assert response.context["form"]["date"].value() == timezone.localdate()


def test_it_logs_an_attended_session_with_note_and_rating(client, login, alice, alice_client, new_session_url, session_form):
    login(client, alice)
    data = session_form(new_session_url)
    response = client.post(new_session_url, data)
    assert response.status_code == 302
    session = Session.objects.get()
    # Attended, and the client may still be in the room: to the session's page, which
    # offers "Check-in now" (tests/sessions/test_session_saved.py).
    assert response.url == reverse("session_detail", args=[session.pk])
    assert session.client == alice_client and session.therapist == alice
    assert timezone.localtime(session.scheduled_start).strftime("%H:%M") == "10:00"
    assert note_for_author(alice, session) == data["note"]
    rating = CheckIn.objects.get(session=session, source="therapist")
    assert (rating.trust, rating.empathy, rating.boundaries, rating.collaboration, rating.total) == (8, 9, 9, 7, 33)
    event = AuditEvent.objects.get(action="session.create")
    assert event.actor == alice and event.object_id == str(session.pk)
    assert "note" in event.detail["fields"]
    assert data["note"] not in str(event.detail)


def test_it_reads_the_date_and_time_in_the_clinics_time_zone(client, login, alice, alice_client, new_session_url, session_form):
    alice.clinic.timezone = "America/New_York"
    alice.clinic.save()
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url, date="2026-06-15", start_time="09:30"))
    stored = Session.objects.get().scheduled_start
    assert stored == datetime(2026, 6, 15, 13, 30, tzinfo=UTC)


def test_it_stores_the_note_encrypted(client, login, alice, new_session_url, session_form):
    login(client, alice)
    secret = "Disclosed the affair for the first time."
    client.post(new_session_url, session_form(new_session_url, note=secret))
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM therapy_sessions_sessionnote")
        rows = cursor.fetchall()
    assert len(rows) == 1
    assert secret not in rows[0][0]
    assert "affair" not in rows[0][0]


def test_it_schedules_exactly_one_invitation_for_an_attended_session(client, login, alice, alice_client, new_session_url, session_form):
    assert alice_client.can_receive_surveys
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url))
    invitation = SurveyInvitation.objects.get()
    assert invitation.client == alice_client
    assert invitation.status == SurveyInvitation.Status.SCHEDULED


def test_it_schedules_no_invitation_for_a_no_show(client, login, alice, new_session_url, session_form):
    login(client, alice)
    data = session_form(new_session_url, attendance="no_show", trust="", empathy="", boundaries="", collaboration="")
    assert client.post(new_session_url, data).status_code == 302
    assert Session.objects.get().attendance == "no_show"
    assert SurveyInvitation.objects.count() == 0
    assert CheckIn.objects.count() == 0


def test_it_ignores_a_rating_of_a_session_that_did_not_happen(client, login, alice, new_session_url, session_form):
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url, attendance="late_cancel"))
    assert Session.objects.count() == 1
    assert CheckIn.objects.count() == 0


def test_it_schedules_no_invitation_without_consent(client, login, alice, session_form):
    no_consent = ClientFactory(therapist=alice, survey_consent=False)
    url = reverse("session_new", args=[no_consent.pk])
    login(client, alice)
    client.post(url, session_form(url))
    assert Session.objects.count() == 1
    assert SurveyInvitation.objects.count() == 0


def test_it_raises_flags_when_the_session_is_saved(client, login, alice, alice_client, session_form):
    for days in (30, 20):
        SessionFactory(client=alice_client, attendance="no_show", scheduled_start=timezone.now() - timedelta(days=days))
    url = reverse("session_new", args=[alice_client.pk])
    login(client, alice)
    client.post(url, session_form(url))
    assert alice_client.flags.filter(kind="attendance", resolved_at__isnull=True).count() == 1


def test_it_saves_a_session_without_a_note(client, login, alice, new_session_url, session_form):
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url, note=""))
    assert Session.objects.count() == 1
    assert SessionNote.objects.count() == 0


def test_a_discharged_client_gets_no_new_session_by_url(client, login, alice, alice_client, new_session_url, session_form):
    from clients.services import client_discharge, client_reactivate

    login(client, alice)
    data = session_form(new_session_url)
    client_discharge(client=alice_client, by=alice)
    for response in (client.get(new_session_url), client.post(new_session_url, data)):
        assert response.status_code == 409
        assert "J.D. has been discharged" in response.content.decode()
        assert "re-activate them on their page first" in response.content.decode()
    assert not Session.objects.exists() and not SurveyInvitation.objects.exists()

    client_reactivate(client=alice_client, by=alice)
    assert client.post(new_session_url, data).status_code == 302
    assert Session.objects.filter(client=alice_client).count() == 1
