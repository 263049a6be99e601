"""The three journeys of Rapport, end to end in a real browser, on real services.

One story, told in four steps by the people who live it:

1. Alice, a therapist, logs in (password and authenticator code), adds a client through
   the form, and logs a session with her own four ratings and a private note.
2. Beat's sweep runs (sent to the real Celery worker as beat sends it); the worker
   emails the check-in over SMTP to an aiosmtpd server. The client opens the link from
   that email on a phone, answers low by tapping, and sees the thank-you page; the same
   link then shows the "no longer valid" page.
3. Alice sees the check-in on the client's chart and a low-alliance flag, acknowledges
   it with what she did, and sees it acknowledged.
4. Carol, the clinic admin, sees Alice's figures on the clinic dashboard, exports them
   as CSV, and cannot read the session note.

Every step leaves a numbered screenshot in var/screenshots/<test>/ (tests/e2e/conftest.py).
Nothing is mocked; every wait is bounded; no page may log a console error or send a
request anywhere but the live server.
"""

import time
import csv
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alliance.models import CheckIn, Flag, SurveyInvitation
from clients.models import Client
from sessions.models import Session
from tests.services import celery_worker, links_in, smtp_server, wait_for  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CLIENT_NAME = "M.R."
CLIENT_EMAIL = "m.r@example.org"
NOTE = "Spoke about the new job and her sister; agreed to try the breathing plan."
# Alice's own view of the session (31/40) ...
THERAPIST_RATING = {"Trust": 8, "Empathy": 8, "Boundaries": 8, "Collaboration": 7}
# ... and the client's (26/40): below the clinic's defaults (total < 36, trust and
# collaboration < 7), so a low-alliance flag must fire; 31 - 26 = 5 stays under the
# discrepancy threshold (6), so it is the only flag.
CLIENT_ANSWERS = {"trust": 6, "empathy": 7, "boundaries": 8, "collaboration": 5}
COMMENT = "It felt a bit rushed at the end."
RESPONSE_TEXT = "Talked about pacing at the start of the next session; agreed to slow down."


class Watch:
    """Console errors, uncaught exceptions and requests that leave the live server, on
    every page of the story. A page that answers with an error status makes Chromium
    log "Failed to load resource"; the steps that expect one say so (`expected`)."""

    def __init__(self, live_server):
        self.site = live_server.url
        self.errors = []
        self.external = []

    def page(self, page):
        page.on("console", lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))
        page.on("request", lambda r: None if r.url.startswith(self.site + "/") else self.external.append(r.url))
        return page

    def expected(self, status):
        """Forget the console error an expected error status leaves (exactly one)."""
        matching = [e for e in self.errors if f"status of {status}" in e]
        assert len(matching) == 1, self.errors
        self.errors.remove(matching[0])

    def assert_clean(self):
        assert self.errors == [], self.errors
        assert self.external == [], self.external


def settled(shot):
    """The step screenshot, once the page's CSS transitions (a tapped answer turning
    dark, a button's hover) have finished, so it shows what the user sees a moment later."""

    def take(page, name):
        page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
        return shot(page, name)

    return take


def cells(row):
    return [t.strip() for t in row.locator("th, td").all_inner_texts()]


def test_the_three_journeys(new_page, phone, shot, live_server, browser_login, smtp_server, celery_worker,
                            clinic, alice, bob, carol):
    watch = Watch(live_server)
    shot = settled(shot)
    smtp = smtp_server()
    # The worker renders links with SITE_URL: the emailed link must open this live server.
    # beat too: a client's answer leaves its flags to beat's sweep (alliance/flags/refresh.py)
    celery_worker(smtp, env={"SITE_URL": live_server.url}, beat=True)
    yesterday = timezone.localdate(timezone=clinic.tzinfo) - timedelta(days=1)

    # --- 1. The therapist adds a client and logs a session ------------------------------
    therapist = watch.page(new_page("therapist"))
    browser_login(therapist, alice)
    expect(therapist.get_by_role("heading", name="Your caseload")).to_be_visible()
    expect(therapist.get_by_text("No active clients yet.")).to_be_visible()
    shot(therapist, "therapist-logged-in-empty-caseload")

    therapist.get_by_role("link", name="Add a client", exact=True).click()
    expect(therapist.get_by_role("heading", name="Add a client")).to_be_visible()
    therapist.get_by_label("Name or initials").fill(CLIENT_NAME)
    therapist.get_by_label("Email for check-ins (optional)").fill(CLIENT_EMAIL)
    therapist.get_by_label("The client agreed to receive check-in emails").check()
    therapist.get_by_label("Language").select_option(label="English")
    therapist.get_by_label("Modality").select_option(label="CBT")
    therapist.get_by_label("Relationship approach").select_option(label="Collaborative")
    shot(therapist, "therapist-add-client-form")
    therapist.get_by_role("button", name="Add client").click()

    expect(therapist.get_by_text(f"{CLIENT_NAME} added to your caseload.")).to_be_visible()
    expect(therapist.get_by_role("heading", name=CLIENT_NAME, level=1)).to_be_visible()
    expect(therapist.get_by_text("Check-ins: by email")).to_be_visible()
    expect(therapist.get_by_text("No check-ins yet.")).to_be_visible()
    expect(therapist.get_by_text("No sessions logged yet.")).to_be_visible()
    client = Client.objects.get(display_name=CLIENT_NAME)
    assert therapist.url == f"{live_server.url}/clients/{client.pk}/"
    shot(therapist, "therapist-client-added")

    therapist.get_by_role("link", name="Log a session").click()
    expect(therapist.get_by_role("heading", name=f"Log a session with {CLIENT_NAME}")).to_be_visible()
    therapist.get_by_label("Date").fill(yesterday.isoformat())
    therapist.get_by_label("Start time").fill("14:30")
    therapist.get_by_label("Format").select_option(label="In person")
    for name, score in THERAPIST_RATING.items():
        therapist.get_by_role("group", name=f"{name} (0–10)").get_by_text(str(score), exact=True).click()
    therapist.get_by_label("Private note").fill(NOTE)
    shot(therapist, "therapist-log-session-form")
    therapist.get_by_role("button", name="Save session").click()

    # An attended session lands on its own page, "Check-in now" first; the client will
    # answer by email here, so back to the client's page.
    therapist.wait_for_url(re.compile(r".*/sessions/\d+/$"))
    expect(therapist.get_by_text(re.compile(r"^Session logged\. The check-in will be emailed "))).to_be_visible()
    expect(therapist.get_by_role("heading", name="Check-in now")).to_be_visible()
    shot(therapist, "therapist-session-logged-check-in-now")
    therapist.get_by_role("navigation", name="breadcrumb").get_by_role("link", name=CLIENT_NAME).click()
    therapist.wait_for_url(f"{live_server.url}/clients/{client.pk}/")
    session_row = therapist.locator("section[aria-labelledby=h-sessions] tbody tr")
    expect(session_row).to_have_count(1)
    # Date, attendance, format, check-in (waiting to be sent), client total, therapist total.
    assert cells(session_row) == [f"{yesterday:%-d %b %Y}, 14:30", "Attended", "In person", "Scheduled", "–", "31"]
    shot(therapist, "therapist-session-logged")
    session = Session.objects.get(client=client)

    watch.assert_clean()

    # --- 2. The survey email reaches the client, who answers on a phone ------------------
    # What beat does every minute: send the sweep task to the queue. The worker runs the
    # sweep, which claims the due invitation and queues its sending, on the worker too.
    from alliance.checkins.tasks import dispatch_due_invitations

    dispatch_due_invitations.delay()
    [email] = smtp.wait_for_count(1)
    assert email["To"] == CLIENT_EMAIL
    assert email["Subject"] == f"A one-minute check-in from {clinic.name}"
    for secret in (NOTE[:20], CLIENT_NAME, alice.full_name, "In person"):
        assert secret not in email.as_string()
    link, unsubscribe = links_in(email, site=live_server.url)
    assert link and unsubscribe, email.get_body(preferencelist=("plain",)).get_content()
    wait_for(lambda: SurveyInvitation.objects.get(session=session).status == "sent", what="the invitation marked sent")

    therapist.reload()
    expect(session_row.locator("td").nth(2)).to_have_text(re.compile(r"^Sent\b"))
    shot(therapist, "therapist-checkin-sent")

    watch.page(phone)
    response = phone.goto(link)
    assert response.status == 200
    expect(phone.get_by_text(clinic.name, exact=True)).to_be_visible()
    expect(phone.get_by_role("heading", name="Your check-in")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "client-phone-checkin-form")
    for dimension, value in CLIENT_ANSWERS.items():
        phone.locator(f"label[for='{dimension}-{value}']").tap()
        expect(phone.locator(f"#{dimension}-{value}")).to_be_checked()
    phone.get_by_label("Anything else you would like to say? (optional)").fill(COMMENT)
    shot(phone, "client-phone-answers-tapped")
    phone.get_by_role("button", name="Send my answers").tap()

    phone.wait_for_url("**/s/thanks/**")
    expect(phone.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(phone.get_by_text("Your answers were sent. You can close this page now.")).to_be_visible()
    shot(phone, "client-phone-thank-you")

    again = phone.goto(link)
    assert again.status == 410
    watch.expected(410)
    expect(phone.get_by_role("heading", name="This link can no longer be used")).to_be_visible()
    expect(phone.get_by_text("If you have already answered, there is nothing more to do")).to_be_visible()
    expect(phone.get_by_role("button", name="Send my answers")).to_have_count(0)
    shot(phone, "client-phone-link-no-longer-valid")
    assert CheckIn.objects.filter(session=session, source="client").count() == 1

    watch.assert_clean()

    # --- 3. The therapist sees the check-in and acts on the flag -------------------------
    therapist.reload()
    assert cells(session_row) == [f"{yesterday:%-d %b %Y}, 14:30", "Attended", "In person", "Answered (email)", "26", "31"]
    # The chart (drawn by Chart.js from the page's data) has the client's point ...
    therapist.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart=total]'))")
    plotted = therapist.evaluate(
        "() => Chart.getChart(document.querySelector('canvas[data-chart=total]')).data.datasets"
        ".map(d => [d.label, d.data])"
    )
    assert plotted == [["Client-rated", [26]], ["Therapist-rated", [31]]]
    # ... and so has its data table, for anyone who prefers numbers.
    therapist.get_by_text("Data table: Total (0–40)").click()
    table_row = therapist.locator("#chart-table-total tbody tr")
    expect(table_row).to_have_count(1)
    assert cells(table_row) == [f"{yesterday:%-d %b %Y}", "26", "31"]
    expect(therapist.get_by_text(COMMENT)).to_be_visible()

    flags = therapist.locator(".flag-history li.list-group-item[id^=flag-]")
    # The flag follows the answer at beat's next sweep, seconds later (alliance/flags/
    # refresh.py): the therapist reloads until it shows, for at most ten seconds.
    waited_until = time.monotonic() + 10
    while flags.count() == 0 and time.monotonic() < waited_until:
        therapist.wait_for_timeout(500)
        therapist.reload()
    expect(flags).to_have_count(1)
    flag_item = flags.first
    expect(flag_item).to_contain_text("Low alliance")
    expect(flag_item).to_contain_text("total 26/40; below 7: trust, collaboration")
    expect(flag_item).to_contain_text("open")
    flag_item.scroll_into_view_if_needed()
    shot(therapist, "therapist-sees-checkin-chart-and-flag")

    # The flag offers our repair options; the therapist ticks what they did and adds a
    # private note.
    flag_item.get_by_label("Invited the client to say what is not working").check()
    flag_item.get_by_label(re.compile("^Private note")).fill(RESPONSE_TEXT)
    shot(therapist, "therapist-acknowledge-form-filled")
    flag_item.get_by_role("button", name="Acknowledge").click()

    therapist.wait_for_url(f"{live_server.url}/clients/{client.pk}/")
    expect(therapist.get_by_text(f"Low alliance flag for {CLIENT_NAME} acknowledged.")).to_be_visible()
    expect(flag_item).to_contain_text(f"by {alice.full_name}: Invited the client to say what is not working")
    expect(flag_item.get_by_role("button", name="Acknowledge")).to_have_count(0)
    shot(therapist, "therapist-flag-acknowledged")
    flag = Flag.objects.get(client=client)
    assert flag.kind == "low_alliance" and flag.acknowledged_by == alice
    assert list(flag.strategies.values_list("strategy", flat=True)) == ["invite_feedback"]
    assert flag.repair_note.text == RESPONSE_TEXT

    watch.assert_clean()

    # --- 4. The clinic admin sees the figures, exports them, cannot read the note ---------
    admin = watch.page(new_page("clinic-admin"))
    browser_login(admin, carol)
    expect(admin.get_by_role("heading", name="Clinic dashboard")).to_be_visible()
    therapists = admin.locator("section[aria-labelledby=h-therapists] tbody tr")
    alice_row = therapists.filter(has_text=alice.full_name)
    # Caseload 1, 1 session held, attended 100%, answered 100%, mean client total 26.0,
    # the one client has an open (acknowledged, not yet resolved) flag; none unacknowledged.
    assert cells(alice_row) == [alice.full_name, "1", "1", "100%", "100%", "26.0", "100% (1)", "—"]
    # A colleague with no clients yet: zeros and dashes, nothing to divide.
    bob_row = cells(therapists.filter(has_text=bob.full_name))
    assert bob_row[:6] == [bob.full_name, "0", "0", "—", "—", "—"] and bob_row[6].startswith("—"), bob_row
    shot(admin, "admin-dashboard")

    with admin.expect_download(timeout=10_000) as download_info:
        admin.locator("section[aria-labelledby=h-therapists]").get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(r"rapport-therapists-\d{8}-\d{8}\.csv", download.suggested_filename)
    text = open(download.path(), encoding="utf-8").read()
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][:8] == ["therapist", "active", "active_caseload", "sessions_held_last_30_days",
                           "attendance_rate", "response_rate", "mean_client_total", "client_checkins"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {alice.full_name, bob.full_name, "Clinic"}
    assert by_name[alice.full_name][1:9] == ["yes", "1", "1", "1", "1", "26", "1", "1"]
    assert by_name["Clinic"][2:8] == ["1", "1", "1", "1", "26", "1"]
    for secret in (NOTE[:20], COMMENT, CLIENT_EMAIL, RESPONSE_TEXT):
        assert secret not in text
    shot(admin, "admin-dashboard-after-export")

    # The session page shows the admin that a note exists, and nothing of it.
    response = admin.goto(f"{live_server.url}/sessions/{session.pk}/")
    assert response.status == 200
    expect(admin.get_by_text("This session has a private note. Only the therapist who wrote it can read it.")).to_be_visible()
    assert NOTE[:20] not in admin.content()
    # Nor the client's comment: the check-in told the client "Your therapist will read it".
    assert COMMENT not in admin.content()
    expect(admin.get_by_role("link", name="Edit session")).to_have_count(0)
    shot(admin, "admin-session-page-without-note")
    # The page where the note's author reads and edits it refuses the admin.
    response = admin.goto(f"{live_server.url}/sessions/{session.pk}/edit/")
    assert response.status in (403, 404)
    watch.expected(response.status)
    assert NOTE[:20] not in admin.content()
    assert "Private note" not in admin.content()
    shot(admin, "admin-refused-the-note")

    watch.assert_clean()
