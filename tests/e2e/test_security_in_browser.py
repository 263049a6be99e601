"""In a real browser: first login enrols the authenticator, and the main pages run under
the Content Security Policy without a single violation (Chromium reports each blocked
inline script or style on the console)."""

import base64

import pytest
from django_otp.oath import TOTP

from alliance.models import Flag
from tests.factories import CheckInFactory, ClientFactory, SessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _watch_csp(page):
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


def test_first_login_enrols_the_authenticator_from_the_page(page, live_server, alice, password):
    violations = _watch_csp(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(alice.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/setup/**")
    assert page.get_by_alt_text("QR code for your authenticator app").is_visible()
    secret = page.locator("#totp-secret").inner_text().strip()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("Code").fill(f"{TOTP(key).token():06d}")
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("#recovery-codes li").count() == 10
    page.get_by_role("link", name="I have saved them, continue").click()
    page.wait_for_load_state("networkidle")
    assert "/2fa/" not in page.url
    assert violations == []


def test_the_main_pages_run_without_csp_violations(page, live_server, alice, carol, browser_login, browser):
    client = ClientFactory(therapist=alice, display_name="R.S.")
    sessions = [SessionFactory(client=client) for _ in range(3)]
    for s in sessions:
        CheckInFactory(session=s)
    Flag.objects.create(client=client, kind="drop", severity=5, session=sessions[0], detail="-4")
    violations = _watch_csp(page)
    browser_login(page, alice)
    for path in ("/caseload/", f"/clients/{client.pk}/", f"/sessions/{sessions[0].pk}/",
                 f"/clients/{client.pk}/sessions/new/", "/attention/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    admin_context = browser.new_context()
    admin = admin_context.new_page()
    violations_admin = _watch_csp(admin)
    browser_login(admin, carol)
    for path in ("/clinic/dashboard/", "/clinic/staff/", "/clinic/settings/", "/clinic/audit/", "/clinic/clients/"):
        admin.goto(f"{live_server.url}{path}")
        admin.wait_for_load_state("networkidle")
    admin_context.close()
    assert violations == [] and violations_admin == [], violations + violations_admin
