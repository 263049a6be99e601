"""The alliance charts in a real browser: the value axis Chart.js draws fits the scores
(movement between 36 and 40 is not squeezed into the top tenth of a 0–40 axis), the
clinic's flag threshold is on the axis as a labelled line, and the data tables are still
there."""

import pytest

from clinic.dashboards.figures import figures_recompute
from tests.alliance.history import checkin, history, session_on
from tests.e2e.conftest import log_in_with_second_factor

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The value axis of each chart as drawn: its range, its ticks, and the threshold the
# line plugin was given.
DRAWN_AXES = """() => Object.fromEntries([...document.querySelectorAll('canvas[data-chart]')].map(canvas => {
    const chart = Chart.getChart(canvas);
    const scale = chart.options.indexAxis === 'y' ? chart.scales.x : (chart.scales.total || chart.scales.y);
    const line = chart.options.plugins.rapportThreshold || null;
    return [canvas.dataset.chart, {min: scale.min, max: scale.max, ticks: scale.ticks.map(t => t.value),
                                   threshold: line && line.value, label: line && line.label}];
}))"""


def charts_drawn(page):
    page.wait_for_function(
        "() => window.Chart && [...document.querySelectorAll('canvas[data-chart]')].every(c => Chart.getChart(c))"
    )
    return page.evaluate(DRAWN_AXES)


def test_the_client_page_fits_its_axes_to_the_scores_and_draws_the_threshold(
    page, live_server, alice, alice_client, password, shot
):
    history(alice_client, [39, 38, 40, 36], therapist_totals=[40, 39, None, 38])
    log_in_with_second_factor(page, live_server.url, alice, password)
    page.goto(f"{live_server.url}/clients/{alice_client.pk}/")
    axes = charts_drawn(page)
    shot(page, "client-page-charts")

    total = axes["total"]
    assert (total["min"], total["max"]) == (32, 40), total
    assert total["ticks"] == list(range(32, 41)), total
    assert (total["threshold"], total["label"]) == (36, "Flag below 36")
    # The four dimensions share one axis, fitted on their 0–10 scale with the threshold (7).
    dims = [axes[d] for d in ("trust", "empathy", "boundaries", "collaboration")]
    assert all((d["min"], d["max"]) == (6, 10) and d["threshold"] == 7 for d in dims), dims
    assert all(t == int(t) for d in axes.values() for t in d["ticks"])

    assert page.locator("#chart-threshold-total").inner_text().endswith("low-alliance flag, below 36.")
    page.locator("details summary", has_text="Data table: Total (0–40)").click()
    cells = page.locator("#chart-table-total tbody tr").all_inner_texts()
    assert len(cells) == 4 and cells[-1].split("\t")[1:] == ["36", "38"], cells


def test_the_dashboard_fits_the_mean_total_axes_and_draws_the_threshold(
    page, live_server, carol, alice_client, bob_client, password, shot
):
    bob_client.modality, bob_client.relationship_approach = "humanistic", "supportive"
    bob_client.save()
    history(alice_client, [38, 37, 39])
    checkin(session_on(bob_client, days_ago=3), 40)
    # Written with the ORM, past the services that keep the dashboard's figures.
    figures_recompute(carol.clinic)
    log_in_with_second_factor(page, live_server.url, carol, password)
    page.goto(f"{live_server.url}/clinic/dashboard/")
    axes = charts_drawn(page)
    shot(page, "dashboard-charts")

    for name in ("alliance-over-time", "modality", "approach"):
        axis = axes[name]
        assert axis["min"] > 0 and axis["max"] == 40 and axis["min"] <= 36, (name, axis)
        assert axis["max"] - axis["min"] <= 10, (name, axis)  # not the 0–40 of before
        assert axis["threshold"] == 36 and axis["label"] == "Flag below 36", (name, axis)
    assert axes["modality"]["min"] == axes["approach"]["min"]  # one axis for both breakdowns
    assert page.get_by_role("region", name="Figures per week, scrollable").is_visible()
    assert "below 36" in page.locator("#chart-threshold-groups").inner_text()
