"""Booked sessions: a session in the future can only be booked (or cancelled); a booked
session sends no check-in and counts nowhere; once its time has passed it asks the
therapist to record its attendance, and recording it as attended schedules the check-in
exactly as logging does."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.checkins.invitations import invitation_due_at
from alliance.flags.rules import flags_recompute_for_client
from alliance.models import CheckIn, Flag, SurveyInvitation
from audit.models import AuditEvent
from sessions.models import Session
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def _ahead(days=3):
    return timezone.localtime(timezone.now() + timedelta(days=days)).strftime("%Y-%m-%d")


@pytest.mark.parametrize("attendance", ["attended", "no_show", "late_cancel"])
def test_a_future_session_cannot_be_marked_as_held_or_missed(client, login, alice, new_session_url, session_form, attendance):
    login(client, alice)
    response = client.post(new_session_url, session_form(new_session_url, date=_ahead(), attendance=attendance))
    assert response.status_code == 400
    html = response.content.decode()
    label = Session.Attendance(attendance).label.lower()
    assert f"This session has not started yet, so it cannot be marked {label}" in html
    assert "choose Booked (or Cancelled) and record attendance once it has happened." in html
    assert not Session.objects.exists() and not CheckIn.objects.exists() and not SurveyInvitation.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="session.").exists()


def test_a_session_that_has_started_cannot_stay_booked(client, login, alice, new_session_url, session_form):
    login(client, alice)
    response = client.post(new_session_url, session_form(new_session_url, attendance="booked"))
    assert response.status_code == 400
    assert "This session has already started: record whether the client came instead of Booked." in response.content.decode()
    assert not Session.objects.exists()


def test_booking_a_session_schedules_no_check_in_and_says_so(client, login, alice, alice_client, session_form):
    url = reverse("session_book", args=[alice_client.pk])
    login(client, alice)
    # Ratings tapped on a booking are not kept: there was no session to rate.
    response = client.post(url, session_form(url, date=_ahead(), start_time="15:00", attendance="booked"), follow=True)
    session = Session.objects.get()
    assert session.attendance == "booked" and session.client == alice_client
    assert not SurveyInvitation.objects.exists() and not CheckIn.objects.exists()
    assert response.redirect_chain == [(reverse("client_detail", args=[alice_client.pk]), 302)]
    local = timezone.localtime(session.scheduled_start)
    html = response.content.decode()
    assert f"Session booked for {local:%a %-d %b %Y} at 15:00. No check-in is sent for a booked session" in html
    # The client page's next session is this one.
    assert f'Next session: <a href="{reverse("session_detail", args=[session.pk])}">{local:%A %-d %b %Y}, 15:00</a> (booked)' in html


def test_a_session_can_be_cancelled_in_advance(client, login, alice, new_session_url, session_form):
    login(client, alice)
    assert client.post(new_session_url, session_form(new_session_url, date=_ahead(), attendance="cancelled")).status_code == 302
    assert Session.objects.get().attendance == "cancelled"


def test_the_client_page_offers_to_book_a_session(client, login, alice, carol, alice_client):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[alice_client.pk])).content.decode()
    assert f'href="{reverse("session_book", args=[alice_client.pk])}">Book a session</a>' in html
    assert "Next session: <span class=\"text-body-secondary\">none booked</span>" in html
    login(client, carol)
    assert "Book a session" not in client.get(reverse("client_detail", args=[alice_client.pk])).content.decode()


@pytest.fixture
def overdue(alice_client):
    """A booked session whose time has passed and nobody updated."""
    return SessionFactory(client=alice_client, scheduled_start=timezone.now() - timedelta(hours=3), attendance="booked")


def test_a_booked_session_whose_time_has_passed_asks_for_its_attendance(client, login, alice, carol, alice_client, overdue):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[alice_client.pk])).content.decode()
    assert "Needs attendance recorded" in html
    assert f'href="{reverse("session_edit", args=[overdue.pk])}"' in html
    html = client.get(reverse("session_detail", args=[overdue.pk])).content.decode()
    assert "Needs attendance recorded." in html
    assert f'<a class="btn btn-warning" href="{reverse("session_edit", args=[overdue.pk])}">Record attendance</a>' in html
    assert "Check-in now" not in html  # nothing to ask about until it is recorded as attended
    assert "Held by" not in html  # nobody held it yet
    # The clinic admin sees that it is waiting, without the button.
    login(client, carol)
    html = client.get(reverse("session_detail", args=[overdue.pk])).content.decode()
    assert "Needs attendance recorded." in html and "Record attendance</a>" not in html


def test_recording_an_overdue_booking_as_attended_schedules_the_check_in_as_logging_does(
    client, login, alice, alice_client, overdue, session_form
):
    login(client, alice)
    url = reverse("session_edit", args=[overdue.pk])
    local = timezone.localtime(overdue.scheduled_start)
    data = session_form(url, date=f"{local:%Y-%m-%d}", start_time=f"{local:%H:%M}", attendance="attended")
    response = client.post(url, data, follow=True)
    overdue.refresh_from_db()
    assert overdue.attendance == "attended"
    invitation = SurveyInvitation.objects.get(session=overdue)
    assert invitation.status == "scheduled"
    assert invitation.due_at == invitation_due_at(overdue) == overdue.ends_at + timedelta(hours=1)
    assert CheckIn.objects.get(session=overdue, source="therapist").total == 33
    html = response.content.decode()
    assert response.redirect_chain == [(reverse("session_detail", args=[overdue.pk]), 302)]
    assert "Session updated. The check-in will be emailed" in html
    assert "Needs attendance recorded" not in html
    assert "On the client's phone (QR code)" in html


def test_booked_sessions_neither_count_as_held_nor_push_missed_ones_out_of_the_attendance_window(alice_client):
    now = timezone.now()
    for days, attendance in [(10, "no_show"), (9, "no_show"), (8, "attended"), (7, "attended"), (6, "attended")]:
        SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=days), attendance=attendance)
    # Three bookings nobody updated, the newest of all: were they counted as held, the
    # two no-shows would fall out of the last five and the flag would clear.
    for days in (3, 2, 1):
        SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=days), attendance="booked")
    SessionFactory(client=alice_client, scheduled_start=now + timedelta(days=4), attendance="booked")
    flags_recompute_for_client(client=alice_client)
    flag = Flag.objects.get(client=alice_client, kind="attendance", resolved_at__isnull=True)
    assert flag.detail == "2 missed of the last 5 sessions"
