"""`make bench`: how page cost grows with data, as ratios measured in one run.

Each benchmark runs a page at a small and a large size in the same process, one after
the other, and the summary prints large/small median ratios. Absolute times on a shared
machine mean little; a ratio near 1 says the page does not grow with the data.
"""

RESULTS = {}


def record(group, size, benchmark):
    RESULTS.setdefault(group, {})[size] = benchmark.stats.stats.median


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    terminalreporter.section("Rapport scaling ratios (median time, large / small, same run)")
    for group, by_size in sorted(RESULTS.items()):
        if len(by_size) < 2:
            continue
        small, large = min(by_size), max(by_size)
        ratio = by_size[large] / by_size[small]
        terminalreporter.write_line(
            f"{group:<28} size {small:>4} → {large:>4}: ×{ratio:.2f} "
            f"({by_size[small] * 1000:.1f} ms → {by_size[large] * 1000:.1f} ms)"
        )
