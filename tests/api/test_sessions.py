"""Sessions through the API go through the browser form's own service: the check-in is
scheduled exactly as for a session logged by hand, and the note is out of reach."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from sessions.models import Session, SessionNote
from tests.api.conftest import error_of
from tests.factories import ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


def yesterday_at_ten(tz):
    when = timezone.localtime(timezone.now() - timedelta(days=1), tz)
    return when.replace(hour=10, minute=0, second=0, microsecond=0)


def test_a_session_from_the_api_schedules_its_check_in_as_the_form_does(
    api, client, login, alice, session_form, carol,
):
    by_form = ClientFactory(therapist=alice, display_name="By form")
    by_api = ClientFactory(therapist=alice, display_name="By API", external_id="EHR-2")
    url = reverse("session_new", args=[by_form.pk])
    login(client, alice)
    assert client.post(url, session_form(url)).status_code == 302
    start = yesterday_at_ten(alice.clinic.tzinfo)

    response = api.post(reverse("api_sessions"), {
        "client_external_id": "EHR-2", "scheduled_start": start.isoformat(), "duration_minutes": 50,
        "attendance": "attended", "format": "in_person",
    })

    assert response.status_code == 201, response.content
    form_invitation = SurveyInvitation.objects.get(client=by_form)
    api_invitation = SurveyInvitation.objects.get(client=by_api)
    assert api_invitation.status == form_invitation.status == SurveyInvitation.Status.SCHEDULED
    assert api_invitation.due_at - api_invitation.session.ends_at == form_invitation.due_at - form_invitation.session.ends_at
    body = response.json()
    assert body["checkin_invitation"]["status"] == "scheduled"
    assert body["therapist"] == alice.pk and body["client_external_id"] == "EHR-2"
    row = AuditEvent.objects.get(action="session.create", object_id=str(body["id"]))
    assert row.actor == carol and row.detail["api_key"] == api.key.prefix


def test_a_booked_session_schedules_nothing_until_it_is_marked_attended(api, alice):
    client = ClientFactory(therapist=alice, external_id="EHR-2")
    start = timezone.now() + timedelta(days=3)
    created = api.post(reverse("api_sessions"), {
        "client_external_id": "EHR-2", "scheduled_start": start.isoformat(), "attendance": "booked",
    })
    assert created.status_code == 201, created.content
    assert created.json()["checkin_invitation"] is None
    session = Session.objects.get(client=client)
    Session.objects.filter(pk=session.pk).update(scheduled_start=timezone.now() - timedelta(hours=3))
    updated = api.patch(reverse("api_session", args=[session.pk]), {"attendance": "attended"})
    assert updated.status_code == 200, updated.content
    assert updated.json()["checkin_invitation"]["status"] == "scheduled"
    assert SurveyInvitation.objects.filter(session=session).count() == 1


def test_a_session_cannot_be_marked_attended_before_it_starts(api, alice):
    ClientFactory(therapist=alice, external_id="EHR-2")
    response = api.post(reverse("api_sessions"), {
        "client_external_id": "EHR-2", "scheduled_start": (timezone.now() + timedelta(days=2)).isoformat(),
        "attendance": "attended",
    })
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["attendance"]
    assert not Session.objects.exists()


def test_a_time_without_its_offset_is_refused(api, alice):
    ClientFactory(therapist=alice, external_id="EHR-2")
    response = api.post(reverse("api_sessions"), {
        "client_external_id": "EHR-2", "scheduled_start": "2026-01-05T10:00:00", "attendance": "attended",
    })
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["scheduled_start"]


def test_a_discharged_clients_session_is_refused(api, alice):
    client = ClientFactory(therapist=alice, external_id="EHR-2", status="discharged", discharged_at=timezone.now())
    response = api.post(reverse("api_sessions"), {
        "client_external_id": "EHR-2", "scheduled_start": yesterday_at_ten(alice.clinic.tzinfo).isoformat(),
        "attendance": "attended",
    })
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"
    assert not Session.objects.filter(client=client).exists()


def test_a_note_cannot_be_written_or_read_through_the_api(api, alice):
    client = ClientFactory(therapist=alice, external_id="EHR-2")
    session = SessionFactory(client=client)
    note = SessionNote(session=session, author=alice)
    note.text = "private words"
    note.save()
    response = api.patch(reverse("api_session", args=[session.pk]), {"note": "overwritten"})
    assert response.status_code == 400
    assert error_of(response)["fields"] == {"note": ["Unknown field."]}
    session.note.refresh_from_db()
    assert session.note.text == "private words"
    read = api.get(reverse("api_session", args=[session.pk]))
    assert read.status_code == 200 and b"private words" not in read.content and "note" not in read.json()


def test_an_update_that_changes_nothing_leaves_no_trace(api, alice):
    session = SessionFactory(client=ClientFactory(therapist=alice, external_id="EHR-2"), duration_minutes=50)
    response = api.patch(reverse("api_session", args=[session.pk]), {"duration_minutes": 50})
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="session.update").exists()
    changed = api.patch(reverse("api_session", args=[session.pk]), {"duration_minutes": 45, "format": "video"})
    assert changed.status_code == 200
    session.refresh_from_db()
    assert (session.duration_minutes, session.format) == (45, "video")
    assert AuditEvent.objects.get(action="session.update").detail["fields"] == ["duration_minutes", "format"]


def test_sessions_are_listed_by_client_and_change(api, alice, mallory):
    mine = SessionFactory(client=ClientFactory(therapist=alice, external_id="EHR-2"))
    SessionFactory(client=ClientFactory(therapist=alice, external_id="EHR-3"))
    SessionFactory(client=ClientFactory(therapist=mallory, external_id="EHR-2"))
    listed = api.get(reverse("api_sessions"), {"client_external_id": "EHR-2"}).json()["results"]
    assert [s["id"] for s in listed] == [mine.pk]


def test_a_retried_session_with_the_same_external_id_is_logged_once(api, alice):
    client = ClientFactory(therapist=alice, external_id="EHR-2")
    body = {
        "client_external_id": "EHR-2", "external_id": "APPT-77", "attendance": "attended",
        "scheduled_start": yesterday_at_ten(alice.clinic.tzinfo).isoformat(),
    }
    first = api.post(reverse("api_sessions"), body)
    assert first.status_code == 201 and first.json()["external_id"] == "APPT-77"
    again = api.post(reverse("api_sessions"), body)
    assert again.status_code == 409
    assert error_of(again)["fields"] == {"external_id": ["This client already has a session with this external id."]}
    assert Session.objects.filter(client=client).count() == 1
    assert SurveyInvitation.objects.filter(client=client).count() == 1
    [found] = api.get(reverse("api_sessions"), {"external_id": "APPT-77"}).json()["results"]
    assert found["id"] == first.json()["id"]
