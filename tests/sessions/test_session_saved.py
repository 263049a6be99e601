"""After saving a session the therapist is told when its check-in goes out, by which
channels, on the clinic's clock, or plainly why none will; an attended session lands
on its own page, where "Check-in now" is the first thing offered."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.checkins.invitations import checkin_outlook, invitation_schedule_for_session
from alliance.models import SurveyInvitation
from sessions.models import Session
from tests.factories import ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


def _yesterday_in(tz):
    return (timezone.localtime(timezone.now(), tz) - timedelta(days=1)).strftime("%Y-%m-%d")


def _saved(client, url, data):
    response = client.post(url, data, follow=True)
    assert response.status_code == 200, response.content.decode()[:2000]
    return response, response.content.decode()


def test_it_says_when_the_email_and_the_text_go_out_on_the_clinics_clock(client, login, alice, session_form):
    clinic = alice.clinic
    clinic.timezone, clinic.survey_delay_hours = "America/New_York", 48
    clinic.save()
    both = ClientFactory(therapist=alice, display_name="M.N.", phone="+12025550143", sms_consent=True)
    url = reverse("session_new", args=[both.pk])
    login(client, alice)
    # Yesterday 10:00 in New York, 50 minutes, 48 hours later: tomorrow 10:50 there.
    _, html = _saved(client, url, session_form(url, date=_yesterday_in(clinic.tzinfo), start_time="10:00"))
    assert "Session logged. The check-in will be emailed tomorrow at 10:50 and texted tomorrow at 10:50." in html


def test_it_names_only_the_channels_the_client_takes(client, login, alice, alice_client, session_form):
    alice.clinic.survey_delay_hours = 72
    alice.clinic.save()
    url = reverse("session_new", args=[alice_client.pk])
    login(client, alice)
    _, html = _saved(client, url, session_form(url, date=_yesterday_in(UTC), start_time="09:00"))
    due = SurveyInvitation.objects.get().due_at
    assert f"The check-in will be emailed on {due:%a %-d %b} at 09:50." in html
    assert "texted" not in html


def test_an_attended_session_lands_on_its_page_with_check_in_now(client, login, alice, alice_client, new_session_url, session_form):
    login(client, alice)
    response, html = _saved(client, new_session_url, session_form(new_session_url))
    session = Session.objects.get()
    assert response.redirect_chain == [(reverse("session_detail", args=[session.pk]), 302)]
    assert "Session logged. The check-in will be emailed" in html
    # Both ways to ask in the room, first on the page, before the session's details.
    panel = html.index('id="h-checkin-now"')
    assert panel < html.index('<dl class="row">')
    assert f'<form method="post" action="{reverse("in_session_phone", args=[session.pk])}">' in html
    assert f'<form method="post" action="{reverse("handover_start", args=[session.pk])}">' in html
    assert "On the client's phone (QR code)</button>" in html
    assert "Hand this device to the client</button>" in html


def test_a_client_with_no_channel_is_told_no_check_in_will_be_sent_and_check_in_now_is_offered(
    client, login, alice, session_form
):
    no_consent = ClientFactory(therapist=alice, display_name="P.Q.", survey_consent=False)
    url = reverse("session_new", args=[no_consent.pk])
    login(client, alice)
    response, html = _saved(client, url, session_form(url))
    assert "No check-in will be sent: P.Q. cannot receive one by email or text" in html
    assert response.redirect_chain[0][0] == reverse("session_detail", args=[Session.objects.get().pk])
    assert 'id="h-checkin-now"' in html


@pytest.mark.parametrize("attendance", ["no_show", "late_cancel", "cancelled"])
def test_a_session_not_attended_says_no_check_in_and_returns_to_the_client(
    client, login, alice, alice_client, new_session_url, session_form, attendance
):
    login(client, alice)
    response, html = _saved(client, new_session_url, session_form(new_session_url, attendance=attendance))
    assert response.redirect_chain == [(reverse("client_detail", args=[alice_client.pk]), 302)]
    assert "Session logged. No check-in will be sent: the session was not attended." in html


def test_a_session_too_long_ago_says_its_check_in_would_have_closed(client, login, alice, new_session_url, session_form):
    login(client, alice)
    day = (timezone.localdate() - timedelta(days=10)).isoformat()
    _, html = _saved(client, new_session_url, session_form(new_session_url, date=day))
    assert "No check-in will be sent: the session is too long ago (a check-in closes 7 days after it is due)." in html


# --- The sentence itself, at fixed times -------------------------------------------------------

NOW = datetime(2026, 6, 9, 12, 0, tzinfo=UTC)  # Tuesday; 13:00 in London


@pytest.mark.parametrize(
    "due, expected",
    [
        (datetime(2026, 6, 9, 14, 30, tzinfo=UTC), "emailed at 15:30"),
        (datetime(2026, 6, 9, 23, 15, tzinfo=UTC), "emailed tomorrow at 00:15"),  # tomorrow in London
        (datetime(2026, 6, 12, 8, 0, tzinfo=UTC), "emailed on Fri 12 Jun at 09:00"),
        (datetime(2026, 6, 9, 11, 0, tzinfo=UTC), "emailed in the next few minutes"),  # already due
    ],
)
def test_the_time_is_said_on_the_clinics_clock(alice, due, expected):
    alice.clinic.timezone = "Europe/London"
    alice.clinic.save()
    session = SessionFactory(client=ClientFactory(therapist=alice), scheduled_start=NOW - timedelta(hours=2))
    invitation = SurveyInvitation(session=session, client=session.client, status="scheduled", due_at=due)
    assert checkin_outlook(session=session, invitation=invitation, now=NOW) == f"The check-in will be {expected}."


@pytest.mark.parametrize(
    "status, expected",
    [
        ("sent", "The check-in was already sent."),
        ("answered", "The client has already answered this session's check-in."),
        ("expired", "This session's check-in expired unanswered."),
        ("failed", "This session's check-in could not be delivered; you can send it again from the client's page."),
    ],
)
def test_an_invitation_past_scheduling_is_described_as_it_stands(alice_client, status, expected):
    session = SessionFactory(client=alice_client)
    invitation = invitation_schedule_for_session(session=session)
    invitation.status = status
    assert checkin_outlook(session=session, invitation=invitation) == expected
