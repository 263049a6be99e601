"""Browser tests: a real headless Chromium (Debian's package, never a downloaded build)
driven by Playwright against pytest-django's live server."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        from tests.conftest import _unavailable

        _unavailable("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page, as a client answering a check-in from an email would have."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def current_totp_code(device):
    """The code an authenticator app would show now for this device. If this step's code
    was already used (two logins within 30 seconds), the next step's, which the server
    accepts too (one step of tolerance) and has not seen."""
    from django_otp.oath import TOTP

    device.refresh_from_db()
    clock = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    if device.last_t >= clock.t():
        clock.drift = 1
    return f"{clock.token():0{device.digits}d}"


@pytest.fixture
def browser_login(live_server, password):
    """Log a user in through the real login form and the real second-factor step: the
    user gets a confirmed authenticator device if they have none, and the code is
    computed from its key as the phone app would."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def login(page, user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email").fill(user.email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/accounts/2fa/verify/**")
        page.get_by_label("Code").fill(current_totp_code(device))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state("networkidle")

    return login
