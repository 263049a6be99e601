"""The check-in in the session, in a real Chromium: on the client's own phone (the QR
code's link opened in a phone-sized browser of its own, and the short code typed), and
on the therapist's device (the hand-over screen, which nothing gets out of but the
therapist's password). axe checks every page the client or therapist sees."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from alliance.models import CheckIn, SurveyInvitation
from tests.alliance.conftest import log_session
from tests.e2e.test_accessibility import audit  # noqa: F401 - the axe fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ANSWERS = [("trust", 8), ("empathy", 7), ("boundaries", 9), ("collaboration", 6)]


def _qr_path(link):
    """The SVG path of the QR code Rapport would draw for `link`: the same library and
    settings, so comparing paths proves the code on screen carries exactly that link."""
    import qrcode
    import qrcode.image.svg

    svg = qrcode.make(link, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2).to_string(encoding="unicode")
    return re.search(r' d="([^"]+)"', svg).group(1)


def _session_page(page, live_server, browser_login, alice, alice_client):
    session, invitation = log_session(client=alice_client, scheduled_start=timezone.now() - timedelta(hours=1))
    browser_login(page, alice)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    expect(page.get_by_role("heading", name="Check-in now")).to_be_visible()
    return session, invitation


def test_the_client_answers_on_their_own_phone_from_the_qr_code(
    page, phone, live_server, browser_login, alice, alice_client, settings, audit  # noqa: F811
):
    settings.SITE_URL = live_server.url
    session, invitation = _session_page(page, live_server, browser_login, alice, alice_client)
    page.get_by_role("button", name="On the client's phone (QR code)").click()
    expect(page.get_by_role("heading", name="Check-in on the client's phone")).to_be_visible()
    page.get_by_text("In a video session").click()
    link = page.get_by_test_id("checkin-link").inner_text().strip()
    assert link.startswith(f"{live_server.url}/s/")
    drawn = page.locator(".checkin-qr svg path").get_attribute("d")
    assert drawn == _qr_path(link)
    audit.check(page, "in-session-qr")

    # The client's phone: a browser of its own, no login, phone-sized.
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Your check-in")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    expect(phone.get_by_role("link", name="Stop these emails")).to_have_count(0)
    audit.check(phone, "in-session-phone-checkin")
    for dimension, value in ANSWERS:
        phone.locator(f"label[for='{dimension}-{value}']").tap()
    phone.get_by_role("button", name="Send my answers").tap()
    phone.wait_for_url("**/s/thanks/**")
    checkin = CheckIn.objects.get(session=session, source="client")
    assert (checkin.channel, checkin.total) == ("in_session_phone", 30)

    # The therapist's screen notices by itself.
    expect(page.locator("#checkin-status")).to_have_text("The client has answered. Thank you.", timeout=15_000)
    # The same QR code scanned again opens nothing.
    phone.goto(link)
    expect(phone.get_by_role("heading", name="This link can no longer be used")).to_be_visible()
    audit.assert_clean()


def test_the_client_types_the_short_code_on_their_phone(
    page, phone, live_server, browser_login, alice, alice_client, settings, audit  # noqa: F811
):
    settings.SITE_URL = live_server.url
    session, _ = _session_page(page, live_server, browser_login, alice, alice_client)
    page.get_by_role("button", name="On the client's phone (QR code)").click()
    code = page.get_by_test_id("short-code").inner_text()
    phone.goto(f"{live_server.url}/c/")
    audit.check(phone, "code-entry")
    phone.get_by_label("Code").fill("nope-nope")
    phone.get_by_role("button", name="Open my check-in").tap()
    expect(phone.get_by_role("alert")).to_contain_text("That code did not work")
    audit.check(phone, "code-entry-wrong")
    phone.get_by_label("Code").fill(code.lower())
    phone.get_by_role("button", name="Open my check-in").tap()
    expect(phone.get_by_role("heading", name="Your check-in")).to_be_visible()
    for dimension, value in ANSWERS:
        phone.locator(f"label[for='{dimension}-{value}']").tap()
    phone.get_by_role("button", name="Send my answers").tap()
    phone.wait_for_url("**/s/thanks/**")
    assert CheckIn.objects.get(session=session, source="client").channel == "in_session_phone"
    audit.assert_clean()


def test_the_handed_over_device_shows_only_the_check_in_until_the_password(
    new_page, live_server, browser_login, alice, alice_client, password, audit  # noqa: F811
):
    tablet = new_page("tablet", viewport={"width": 820, "height": 1180}, has_touch=True)
    session, invitation = _session_page(tablet, live_server, browser_login, alice, alice_client)
    tablet.get_by_role("button", name="Hand this device to the client").click()
    tablet.wait_for_url("**/hand-over/")
    expect(tablet.get_by_role("heading", name="Your check-in")).to_be_visible()
    audit.check(tablet, "handover-checkin")

    # Nothing of the therapist's shows, and nothing leads there but the unlock link.
    text = tablet.locator("body").inner_text()
    for private in (alice_client.display_name, alice.full_name, "Caseload", "Log out"):
        assert private not in text
    hrefs = tablet.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs == ["/hand-over/unlock/"], hrefs
    # Back, typed addresses and the keyboard all stay on the hand-over screen.
    tablet.go_back()
    tablet.wait_for_load_state()
    assert tablet.url.endswith("/hand-over/")
    for path in ("/", f"/clients/{alice_client.pk}/", f"/sessions/{session.pk}/", "/attention/", "/admin/"):
        tablet.goto(live_server.url + path)
        assert tablet.url == f"{live_server.url}/hand-over/", path
        assert alice_client.display_name not in tablet.locator("body").inner_text()
    focusable = tablet.evaluate(
        "() => [...document.querySelectorAll('a[href], button, input, textarea, select')]"
        ".map(e => e.getAttribute('href') || e.type)"
    )
    assert all(not f.startswith("/") or f == "/hand-over/unlock/" for f in focusable), focusable

    for dimension, value in ANSWERS:
        tablet.locator(f"label[for='{dimension}-{value}']").tap()
    tablet.get_by_label("Anything else you would like to say? (optional)").fill("It helped to slow down.")
    tablet.get_by_role("button", name="Send my answers").tap()
    tablet.wait_for_url("**/hand-over/thanks/")
    expect(tablet.get_by_text("Please hand the device back.")).to_be_visible()
    audit.check(tablet, "handover-thanks")
    checkin = CheckIn.objects.get(session=session, source="client")
    assert (checkin.channel, checkin.comment) == ("in_session_device", "It helped to slow down.")
    # Back to the form: the answer is in, the form does not come back.
    tablet.go_back()
    tablet.wait_for_load_state()
    assert "/hand-over/" in tablet.url
    expect(tablet.get_by_role("button", name="Send my answers")).to_have_count(0)

    tablet.get_by_role("link", name="Therapist: take the device back").click()
    audit.check(tablet, "handover-unlock")
    tablet.get_by_label("Your password").fill("not my password")
    tablet.get_by_role("button", name="Unlock").click()
    expect(tablet.get_by_role("alert")).to_contain_text("That password is not right")
    tablet.goto(f"{live_server.url}/")
    assert tablet.url == f"{live_server.url}/hand-over/thanks/"
    tablet.get_by_role("link", name="Therapist: take the device back").click()
    tablet.get_by_label("Your password").fill(password)
    tablet.get_by_role("button", name="Unlock").click()
    tablet.wait_for_url(f"**/sessions/{session.pk}/")
    expect(tablet.get_by_text("The client answered the check-in.")).to_be_visible()
    assert SurveyInvitation.objects.get(pk=invitation.pk).status == "answered"
    audit.assert_clean()


def _fits_a_phone(page):
    """Nothing wider than the 390 px screen: the page does not scroll sideways and no
    visible element reaches past its right edge."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect();
            return r.width > 0 && r.height > 0 && r.right > 391 && getComputedStyle(e).visibility !== 'hidden';
        }).map(e => e.tagName + '.' + e.className)"""
    )
    assert overflowing == [], overflowing


def test_the_new_staff_pages_fit_a_phone(
    new_page, live_server, browser_login, alice, carol, alice_client, audit  # noqa: F811
):
    phone = new_page("therapist-phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    session, _ = _session_page(phone, live_server, browser_login, alice, alice_client)
    _fits_a_phone(phone)
    audit.check(phone, "phone-session-check-in-now")
    phone.get_by_role("button", name="On the client's phone (QR code)").click()
    expect(phone.get_by_role("heading", name="Check-in on the client's phone")).to_be_visible()
    _fits_a_phone(phone)
    assert phone.locator(".checkin-qr svg").bounding_box()["width"] >= 250  # scannable across a desk
    audit.check(phone, "phone-in-session-qr")
    phone.goto(f"{live_server.url}/clients/{alice_client.pk}/edit/")
    _fits_a_phone(phone)
    audit.check(phone, "phone-client-edit")

    admin = new_page("admin-phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    browser_login(admin, carol)
    admin.goto(f"{live_server.url}/clinic/settings/")
    expect(admin.get_by_label("Ask by text message")).to_be_visible()
    _fits_a_phone(admin)
    audit.check(admin, "phone-clinic-settings")
    audit.assert_clean()
