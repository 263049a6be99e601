"""A therapist logs a session in a real browser, with the keyboard and the mouse, and
finds it on the client page, charted by the static script (no inline JavaScript)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import Session
from sessions.selectors import note_for_author

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_therapist_logs_a_session_and_sees_it_on_the_client_page(page, live_server, browser_login, alice, alice_client):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_login(page, alice)
    page.goto(f"{live_server.url}/")
    assert page.get_by_role("heading", name="Your caseload").is_visible()

    page.get_by_role("link", name="J.D.").click()
    page.get_by_role("link", name="Log a session").click()
    assert page.get_by_role("heading", name="Log a session with J.D.").is_visible()

    yesterday = timezone.localdate() - timedelta(days=1)
    page.get_by_label("Date").fill(yesterday.isoformat())
    page.get_by_label("Start time").fill("14:30")
    page.get_by_label("Format").select_option(label="Video")
    # The four ratings, typed with the keyboard: focus the first and Tab through.
    page.get_by_label("Trust (0–10)").focus()
    for score in ("9", "8", "9", "7"):
        page.keyboard.press("Control+A")
        page.keyboard.type(score)
        page.keyboard.press("Tab")
    page.get_by_label("Private note").fill("Client spoke about work; agreed to try the plan.")
    page.get_by_role("button", name="Save session").click()

    page.wait_for_url(f"{live_server.url}/clients/{alice_client.pk}/")
    assert page.get_by_text("Session logged.").is_visible()
    row = page.get_by_role("row", name=yesterday.strftime("%-d %b %Y"))
    assert "Attended" in row.inner_text() and "Video" in row.inner_text() and "33" in row.inner_text()
    # The chart was drawn by static/js/client_charts.js from the json_script data.
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart=total]'))")
    assert errors == []

    session = Session.objects.get(client=alice_client)
    assert session.format == "video"
    assert note_for_author(alice, session) == "Client spoke about work; agreed to try the plan."
