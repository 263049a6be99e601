"""The clinic admin changes a flag threshold in the browser: the page comes back at once
saying the flags are being recomputed, "0 of 3 clients"; once a real Celery worker does
the work, the same page (not reloaded) says it is done, and the flags follow the new
threshold."""

import pytest
from playwright.sync_api import expect

from alliance.models import Flag
from tests.clinic.settings.test_flag_recompute import caseload_with_totals
from tests.services import celery_worker, smtp_server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_settings_page_follows_the_recompute_to_its_end(
    page, live_server, browser_login, smtp_server, celery_worker, carol, clinic, alice, shot  # noqa: F811
):
    caseload_with_totals(alice)
    browser_login(page, carol)
    page.goto(f"{live_server.url}/clinic/settings/")
    page.locator("input[name=low_total_below]").fill("38")
    page.get_by_role("button", name="Save settings").click()
    status = page.locator("#flag-recompute-text")
    expect(status).to_have_text("Recomputing flags with the new thresholds: 0 of 3 clients.")
    shot(page, "recomputing")

    # The page stays as it is from here: a reload would lose this marker.
    page.evaluate("() => { window.notReloaded = true; }")
    celery_worker(smtp_server())
    expect(status).to_have_text("Flags recomputed with the current thresholds for all 3 clients.", timeout=60_000)
    assert page.evaluate("() => window.notReloaded === true")
    assert page.locator("#flag-recompute-bar").evaluate("bar => [bar.value, bar.max]") == [3, 3]
    shot(page, "recomputed")
    low = Flag.objects.filter(kind=Flag.Kind.LOW_ALLIANCE, resolved_at__isnull=True)
    assert set(low.values_list("client__display_name", flat=True)) == {"A.A.", "B.B."}
