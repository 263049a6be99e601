"""Browser tests: a real headless Chromium (Debian's package, never a downloaded build)
driven by Playwright against pytest-django's live server."""

import os
import re
import shutil
from pathlib import Path

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


# What users see, step by step, for a person to look at: var/ is git-ignored.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so page fixtures can tell at teardown
    whether the test failed."""
    outcome = yield
    setattr(item, f"rep_{call.when}", outcome.get_result())


# One line per page checked by axe (tests/e2e/test_accessibility.py): its violations by
# impact, printed after the run and kept in var/screenshots/axe-summary.txt.
AXE_SUMMARY = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(AXE_SUMMARY, None)
    if not lines:
        return
    terminalreporter.section("accessibility: axe-core violations (nodes) by impact, per page")
    for line in lines:
        terminalreporter.write_line(line)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "axe-summary.txt").write_text("\n".join(lines) + "\n")


def _test_folder(node):
    return SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name)


def _save_on_failure(request, page, label):
    """A failing step leaves its screenshot and page HTML beside the step screenshots."""
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed or page.is_closed():
        return
    folder = _test_folder(request.node)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(folder / f"FAILED-{label}.png"), full_page=True)
        (folder / f"FAILED-{label}.html").write_text(page.content())
    except Exception as exc:  # noqa: BLE001 - a dead page must not hide the test's own failure
        print(f"could not save the failed page {label}: {exc!r}")


@pytest.fixture
def shot(request):
    """shot(page, "step-name"): a full-page screenshot numbered in step order, under
    var/screenshots/<test>/."""
    folder = _test_folder(request.node)
    shutil.rmtree(folder, ignore_errors=True)
    counter = iter(range(1, 1000))

    def take(page, name):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


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
def new_page(browser, request):
    """new_page(label, **context_options): a page in its own browser context (its own
    cookies: one per person in a journey). Saved as screenshot and HTML if the test fails."""
    opened = []

    def open_page(label, **options):
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
        page = context.new_page()
        page.set_default_timeout(10_000)
        opened.append((label, context, page))
        return page

    yield open_page
    for label, context, page in opened:
        _save_on_failure(request, page, label)
        context.close()


@pytest.fixture
def page(new_page):
    return new_page("desktop")


@pytest.fixture
def phone(new_page):
    """A phone-sized page, as a client answering a check-in from an email would have."""
    return new_page("phone", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)


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

    def login(page, user):
        log_in_with_second_factor(page, live_server.url, user, password)

    return login


def log_in_with_second_factor(page, base_url, user, password):
    """The real login form, then the real second-factor step: the user gets a confirmed
    authenticator device if they have none, and the code is computed from its key as
    the phone app would."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/verify/**")
    page.get_by_label("Code").fill(current_totp_code(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_load_state("networkidle")
