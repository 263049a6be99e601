"""The benchmark's verdicts on given figures: a target met is PASS, a target missed is
MISS, an absent figure is MISSING (never PASS)."""

import pytest

from bench import report


def page(median, bare, queries, p95=None):
    return {"median_ms": median, "p95_ms": p95 or median * 1.2, "bare_sql_median_ms": bare, "queries": queries,
            "bare_sql_queries": queries - 4, "samples": 40, "page_to_bare_sql": median / bare}


def passing():
    return {
        "pages": {
            "clinic": {"caseload": page(40, 8, 10), "dashboard": page(400, 200, 10),
                       "client_8": page(30, 5, 12), "client_400": page(33, 6, 12)},
            "network": {"caseload": page(45, 8, 10), "dashboard": page(560, 280, 10)},
        },
        "throughput": {"requests": 2000, "workers": 2, "survey_pair_rps": 150.0, "minimal_pair_rps": 200.0,
                       "ratio": 0.75, "survey_post_rps": 300.0, "minimal_view_rps": 400.0, "post_ratio": 0.75,
                       "web_worker_peak_rss_mb": 90.0},
        "dispatch": {"emails": 10000, "celery_emails_per_s": 500.0, "smtplib_emails_per_s": 800.0, "ratio": 0.625,
                     "lost": 0, "duplicates": 0, "celery_worker_peak_rss_mb": 120.0},
        "seed": {"network": {"seconds": 120.0}},
    }


def statuses(results):
    return {r.figure: r.status for r in report.evaluate(results)}


def test_all_targets_met_pass():
    s = statuses(passing())
    assert set(s.values()) == {"PASS", "info"}
    # The caseload's page ÷ bare SQL has no target, nor has the check-in POST alone.
    assert list(s.values()).count("info") == 3
    assert len(s) == 17


@pytest.mark.parametrize("change, figure", [
    (lambda r: r["pages"]["network"]["dashboard"].update(queries=11), "Clinic dashboard: queries, clinic → network"),
    (lambda r: r["pages"]["network"]["caseload"].update(median_ms=53), "Caseload: median time, network ÷ clinic"),
    (lambda r: r["pages"]["network"]["dashboard"].update(median_ms=3600, bare_sql_median_ms=2000),
     "Clinic dashboard: median time, network ÷ clinic"),
    (lambda r: r["pages"]["network"]["dashboard"].update(median_ms=640), "Clinic dashboard: median time, network ÷ clinic"),
    (lambda r: r["pages"]["clinic"]["client_400"].update(median_ms=40), "Client page: median time, 400 sessions ÷ 8"),
    (lambda r: r["pages"]["clinic"]["dashboard"].update(bare_sql_median_ms=100),
     "Clinic dashboard: page ÷ its bare SQL, clinic"),
    (lambda r: r["throughput"].update(ratio=0.69), "Check-in GET + POST pair ÷ minimal pair, pairs/s"),
    (lambda r: r["dispatch"].update(ratio=0.49), "Dispatch, Celery ÷ plain smtplib, emails/s"),
    (lambda r: r["dispatch"].update(lost=1), "Dispatch: lost emails"),
    (lambda r: r["dispatch"].update(duplicates=2), "Dispatch: duplicated emails"),
    (lambda r: r["throughput"].update(web_worker_peak_rss_mb=150.0), "Web worker peak RSS"),
    (lambda r: r["dispatch"].update(celery_worker_peak_rss_mb=201), "Celery worker peak RSS"),
    (lambda r: r["seed"]["network"].update(seconds=600.5), "Seeding the network size"),
])
def test_a_missed_target_is_a_miss_and_only_that(change, figure):
    results = passing()
    change(results)
    s = statuses(results)
    assert s[figure] == "MISS"
    assert [f for f, v in s.items() if v == "MISS"] == [figure]


def test_ratios_at_the_limit_pass():
    results = passing()
    results["pages"]["network"]["caseload"]["median_ms"] = 52  # 1.3 × 40
    results["pages"]["network"]["dashboard"].update(median_ms=600, bare_sql_median_ms=600 / 3)  # 1.5 × and 3 ×
    results["pages"]["clinic"]["client_400"]["median_ms"] = 39  # 1.3 × 30
    results["throughput"]["ratio"] = 0.70
    results["dispatch"]["ratio"] = 0.50
    assert set(statuses(results).values()) == {"PASS", "info"}


def test_absent_parts_are_missing_not_pass():
    results = passing()
    results["throughput"] = {"error": "missing: no module bench.throughput"}
    del results["dispatch"]
    del results["pages"]["network"]
    s = statuses(results)
    for figure in ("Check-in GET + POST pair ÷ minimal pair, pairs/s", "Check-in POST alone ÷ minimal POST, requests/s",
                   "Dispatch: lost emails", "Web worker peak RSS",
                   "Caseload: queries, clinic → network", "Clinic dashboard: median time, network ÷ clinic"):
        assert s[figure] == "MISSING", figure
    assert s["Clinic dashboard: page ÷ its bare SQL, clinic"] == "PASS"
    assert "PASS" not in {s[f] for f in s if "network" in f and not f.startswith("Seeding")}


def test_the_target_is_the_pair_and_the_post_alone_is_information():
    results = passing()
    # A fast POST does not hide a slow form page: only the pair decides.
    results["throughput"].update(survey_pair_rps=120.0, ratio=0.6, post_ratio=0.95)
    rows = {r.figure: r for r in report.evaluate(results)}
    pair = rows["Check-in GET + POST pair ÷ minimal pair, pairs/s"]
    assert (pair.status, pair.value, pair.target) == ("MISS", "120.0 ÷ 200.0 = 60 % (2 workers)", "≥ 70 %")
    post = rows["Check-in POST alone ÷ minimal POST, requests/s"]
    assert (post.status, post.value) == ("info", "300.0 ÷ 400.0 = 95 %")
    # A result file from before the pair existed has no pair figures: MISSING, not PASS.
    old = passing()
    old["throughput"] = {"requests": 2000, "workers": 2, "survey_post_rps": 300.0, "minimal_view_rps": 400.0,
                         "web_worker_peak_rss_mb": 90.0}
    assert statuses(old)["Check-in GET + POST pair ÷ minimal pair, pairs/s"] == "MISSING"


def test_markdown_and_readme_markers(tmp_path):
    results = passing()
    results["pages"]["network"]["dashboard"]["median_ms"] = 4000
    rows = report.evaluate(results)
    block = report.markdown(results, rows)
    assert "| Clinic dashboard: median time, network ÷ clinic | 400.0 ms → 4,000.0 ms = ×10.00" in block
    assert "**MISS**" in block
    readme = tmp_path / "README.md"
    readme.write_text(f"# R\n\nbefore\n{report.README_START}\nold table\n{report.README_END}\nafter\n")
    assert report.update_readme(readme, block)
    text = readme.read_text()
    assert "old table" not in text and block in text and text.startswith("# R\n\nbefore\n") and text.endswith("after\n")
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers\n")
    assert not report.update_readme(plain, block)
    assert plain.read_text() == "no markers\n"
