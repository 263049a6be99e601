"""A therapist logs a session in a real browser, with the keyboard and the mouse: the
start time is already the latest half hour, the four ratings are the client's 0–10 tap
targets, and the page after saving says when the check-in goes out and offers
"Check-in now" first. A booking made from the client page comes back as the next
session."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alliance.models import CheckIn, SurveyInvitation
from sessions.forms import latest_half_hour
from sessions.models import Session
from sessions.selectors import note_for_author

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_therapist_logs_a_session_and_is_offered_check_in_now(page, live_server, browser_login, alice, alice_client, shot):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    alice.clinic.timezone = "Asia/Kolkata"  # not the server's UTC: the form must use the clinic's clock
    alice.clinic.save()
    browser_login(page, alice)
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Your caseload").is_visible()

    page.get_by_role("link", name="J.D.").click()
    before = latest_half_hour(timezone.now(), alice.clinic.tzinfo)
    page.get_by_role("link", name="Log a session").click()
    after = latest_half_hour(timezone.now(), alice.clinic.tzinfo)
    assert page.get_by_role("heading", name="Log a session with J.D.").is_visible()
    offered = (page.get_by_label("Date").input_value(), page.get_by_label("Start time").input_value())
    assert offered in {(f"{t:%Y-%m-%d}", f"{t:%H:%M}") for t in (before, after)}, offered

    page.get_by_label("Format").select_option(label="Video")
    # Trust and empathy tapped with the mouse...
    trust = page.get_by_role("group", name="Trust (0–10)")
    trust.get_by_text("9", exact=True).click()
    expect(page.locator("#trust-9")).to_be_checked()
    page.locator("label[for='empathy-8']").click()
    # ...a second thought taken back with "Not rated" and given again...
    page.locator("label[for='empathy-none']").click()
    expect(page.locator("#empathy-8")).not_to_be_checked()
    page.locator("label[for='empathy-8']").click()
    # ...boundaries and collaboration with the keyboard: Tab into the group (on
    # "Not rated", the one chosen), then the arrows, which wrap round to 0.
    page.locator("#empathy-8").focus()
    for name, score in (("boundaries", 9), ("collaboration", 7)):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == f"{name}-none"
        for _ in range(score + 1):
            page.keyboard.press("ArrowRight")
        expect(page.locator(f"#{name}-{score}")).to_be_checked()
        assert page.evaluate("document.activeElement.id") == f"{name}-{score}"
    # Each answer is a large target.
    box = page.locator("label[for='trust-5']").bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    page.get_by_label("Private note").fill("Client spoke about work; agreed to try the plan.")
    shot(page, "session-form-tapped")
    page.get_by_role("button", name="Save session").click()

    page.wait_for_url(re.compile(r".*/sessions/\d+/$"))
    session = Session.objects.get(client=alice_client)
    invitation = SurveyInvitation.objects.get(session=session)
    due = timezone.localtime(invitation.due_at, alice.clinic.tzinfo)
    expect(page.get_by_role("status").first).to_contain_text(f"Session logged. The check-in will be emailed")
    expect(page.get_by_role("status").first).to_contain_text(f"{due:%H:%M}.")
    # "Check-in now" is right there, both ways.
    expect(page.get_by_role("heading", name="Check-in now")).to_be_visible()
    expect(page.get_by_role("button", name="On the client's phone (QR code)")).to_be_visible()
    expect(page.get_by_role("button", name="Hand this device to the client")).to_be_visible()
    shot(page, "landed-on-the-session-with-check-in-now")
    page.get_by_role("button", name="On the client's phone (QR code)").click()
    expect(page.get_by_role("heading", name="Check-in on the client's phone")).to_be_visible()
    assert errors == []

    assert session.format == "video" and session.attendance == "attended"
    rating = CheckIn.objects.get(session=session, source="therapist")
    assert (rating.trust, rating.empathy, rating.boundaries, rating.collaboration) == (9, 8, 9, 7)
    assert note_for_author(alice, session) == "Client spoke about work; agreed to try the plan."


def test_a_therapist_books_the_next_session_from_the_client_page(page, live_server, browser_login, alice, alice_client):
    browser_login(page, alice)
    page.goto(f"{live_server.url}/clients/{alice_client.pk}/")
    expect(page.get_by_text("Next session: none booked")).to_be_visible()
    page.get_by_role("link", name="Book a session").click()
    expect(page.get_by_role("heading", name="Book a session with J.D.")).to_be_visible()
    assert page.get_by_label("Attendance").input_value() == "booked"
    # Marking it attended ahead of time is refused, and says what to do instead.
    page.get_by_label("Attendance").select_option(label="Attended")
    page.get_by_role("button", name="Book session").click()
    expect(page.get_by_text("This session has not started yet, so it cannot be marked attended")).to_be_visible()
    assert not Session.objects.exists()
    page.get_by_label("Attendance").select_option(label="Booked")
    page.get_by_label("Start time").fill("16:00")
    page.get_by_role("button", name="Book session").click()

    page.wait_for_url(f"{live_server.url}/clients/{alice_client.pk}/")
    session = Session.objects.get()
    assert session.attendance == "booked" and not SurveyInvitation.objects.exists()
    local = timezone.localtime(session.scheduled_start)
    assert local.date() - timezone.localdate() == timedelta(days=7) and f"{local:%H:%M}" == "16:00"
    expect(page.get_by_role("status").first).to_contain_text("Session booked for")
    expect(page.get_by_role("status").first).to_contain_text("No check-in is sent for a booked session")
    expect(page.get_by_text(f"Next session: {local:%A %-d %b %Y}, 16:00 (booked)")).to_be_visible()
