"""The benchmark's verdicts: every figure against its target (issue 7), as rows for the
printed table, bench/results.json and the README.

`evaluate(results)` is pure: it reads the dict `python -m bench` assembles and returns
rows; a figure whose input is absent is MISSING, never PASS. Targets:

- query counts identical at both sizes (caseload, dashboard);
- caseload median at network size ≤ 1.3 × clinic size;
- dashboard median at network size ≤ 1.5 × clinic size (issue 14; it was 2), and ≤ 3 ×
  its bare SQL (each size);
- client page with 400 sessions ≤ 1.3 × with 8 (clinic size);
- check-in GET + POST pair ≥ 70 % of the minimal view's pairs per second (the POST
  alone is information);
- dispatch ≥ 50 % of the plain smtplib rate, with 0 lost and 0 duplicated;
- web worker < 150 MB and Celery worker < 200 MB peak resident memory;
- seeding the network size < 600 s.
"""

import operator
import re
from dataclasses import asdict, dataclass

PASS, MISS, MISSING, INFO = "PASS", "MISS", "MISSING", "info"

README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Row:
    figure: str
    value: str
    target: str
    status: str
    number: float | None = None


_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, "==": operator.eq}


def verdict(number, op, limit):
    if number is None:
        return MISSING
    return PASS if _OPS[op](number, limit) else MISS


def _get(d, *path):
    for key in path:
        if not isinstance(d, dict) or key not in d or d[key] is None:
            return None
        d = d[key]
    return d


def _ratio(a, b):
    return None if a is None or not b else a / b


def _fmt(x, unit="", digits=1):
    return "–" if x is None else f"{x:,.{digits}f}{unit}"


def evaluate(results):
    rows = []
    pages = results.get("pages") or {}

    for page, label in (("caseload", "Caseload"), ("dashboard", "Clinic dashboard")):
        qc, qn = _get(pages, "clinic", page, "queries"), _get(pages, "network", page, "queries")
        same = None if qc is None or qn is None else float(qc == qn)
        rows.append(Row(f"{label}: queries, clinic → network", f"{qc if qc is not None else '–'} → "
                        f"{qn if qn is not None else '–'}", "identical", verdict(same, "==", 1.0), same))

    for page, label, limit in (("caseload", "Caseload", 1.3), ("dashboard", "Clinic dashboard", 1.5)):
        mc, mn = _get(pages, "clinic", page, "median_ms"), _get(pages, "network", page, "median_ms")
        pc, pn = _get(pages, "clinic", page, "p95_ms"), _get(pages, "network", page, "p95_ms")
        r = _ratio(mn, mc)
        rows.append(Row(
            f"{label}: median time, network ÷ clinic",
            f"{_fmt(mc, ' ms')} → {_fmt(mn, ' ms')} = ×{_fmt(r, digits=2)} (p95 {_fmt(pc, ' ms')} → {_fmt(pn, ' ms')})",
            f"≤ ×{limit}", verdict(r, "<=", limit), r,
        ))

    short, long = _get(pages, "clinic", "client_8", "median_ms"), _get(pages, "clinic", "client_400", "median_ms")
    r = _ratio(long, short)
    rows.append(Row(
        "Client page: median time, 400 sessions ÷ 8",
        f"{_fmt(short, ' ms')} → {_fmt(long, ' ms')} = ×{_fmt(r, digits=2)}", "≤ ×1.3", verdict(r, "<=", 1.3), r,
    ))

    for size in ("clinic", "network"):
        for page, label, limit in (("dashboard", "Clinic dashboard", 3.0), ("caseload", "Caseload", None)):
            m, b = _get(pages, size, page, "median_ms"), _get(pages, size, page, "bare_sql_median_ms")
            r = _ratio(m, b)
            rows.append(Row(
                f"{label}: page ÷ its bare SQL, {size}",
                f"{_fmt(m, ' ms')} ÷ {_fmt(b, ' ms')} = ×{_fmt(r, digits=2)}",
                f"≤ ×{limit}" if limit else "(no target)",
                verdict(r, "<=", limit) if limit else (INFO if r is not None else MISSING), r,
            ))

    tp = results.get("throughput") or {}
    survey, minimal = _get(tp, "survey_pair_rps"), _get(tp, "minimal_pair_rps")
    r = _get(tp, "ratio") if _get(tp, "ratio") is not None else _ratio(survey, minimal)
    rows.append(Row(
        "Check-in GET + POST pair ÷ minimal pair, pairs/s",
        f"{_fmt(survey)} ÷ {_fmt(minimal)} = {_fmt(None if r is None else 100 * r, ' %', 0)}"
        + (f" ({tp['workers']} workers)" if _get(tp, "workers") else ""),
        "≥ 70 %", verdict(r, ">=", 0.70), r,
    ))
    post, minimal_post = _get(tp, "survey_post_rps"), _get(tp, "minimal_view_rps")
    r = _get(tp, "post_ratio") if _get(tp, "post_ratio") is not None else _ratio(post, minimal_post)
    rows.append(Row(
        "Check-in POST alone ÷ minimal POST, requests/s",
        f"{_fmt(post)} ÷ {_fmt(minimal_post)} = {_fmt(None if r is None else 100 * r, ' %', 0)}",
        "(no target)", INFO if r is not None else MISSING, r,
    ))

    dp = results.get("dispatch") or {}
    celery, smtp = _get(dp, "celery_emails_per_s"), _get(dp, "smtplib_emails_per_s")
    r = _get(dp, "ratio") if _get(dp, "ratio") is not None else _ratio(celery, smtp)
    rows.append(Row(
        "Dispatch, Celery ÷ plain smtplib, emails/s",
        f"{_fmt(celery)} ÷ {_fmt(smtp)} = {_fmt(None if r is None else 100 * r, ' %', 0)}"
        + (f" ({dp['emails']:,} emails)" if _get(dp, "emails") else "")
        + (f"; both a connection per {dp['send_batch']}" if _get(dp, "send_batch") else ""),
        "≥ 50 %", verdict(r, ">=", 0.50), r,
    ))
    for key, label in (("lost", "Dispatch: lost emails"), ("duplicates", "Dispatch: duplicated emails")):
        n = _get(dp, key)
        rows.append(Row(label, "–" if n is None else str(n), "0", verdict(n, "==", 0), n))

    for part, key, label, limit in (("throughput", "web_worker_peak_rss_mb", "Web worker peak RSS", 150),
                                    ("dispatch", "celery_worker_peak_rss_mb", "Celery worker peak RSS", 200)):
        mb = _get(results, part, key)
        rows.append(Row(label, _fmt(mb, " MB"), f"< {limit} MB", verdict(mb, "<", limit), mb))

    seconds = _get(results, "seed", "network", "seconds")
    when = _get(results, "seed", "network", "seeded_at")
    value = _fmt(seconds, " s") + (f" (seeded {when[:16].replace('T', ' ')} UTC)" if when else "")
    rows.append(Row("Seeding the network size", value, "< 600 s", verdict(seconds, "<", 600), seconds))
    return rows


def page_rows(results):
    """Per page and size: the detail behind the ratios."""
    out = []
    for page in ("caseload", "dashboard", "client_8", "client_400"):
        for size in ("clinic", "network"):
            p = _get(results, "pages", size, page)
            if p:
                out.append({"page": page, "size": size, **{k: p.get(k) for k in (
                    "median_ms", "p95_ms", "samples", "queries", "bare_sql_queries", "bare_sql_median_ms",
                    "page_to_bare_sql")}})
    return out


def summary(rows):
    counts = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def as_json(rows):
    return [asdict(r) for r in rows]


def text_table(rows):
    widths = [max(len(r.figure) for r in rows), max(len(r.value) for r in rows), max(len(r.target) for r in rows)]
    lines = [f"{'figure':<{widths[0]}}  {'value':<{widths[1]}}  {'target':<{widths[2]}}  result",
             "-" * (sum(widths) + 14)]
    for r in rows:
        lines.append(f"{r.figure:<{widths[0]}}  {r.value:<{widths[1]}}  {r.target:<{widths[2]}}  {r.status}")
    return "\n".join(lines)


def markdown(results, rows):
    lines = ["| figure | value | target | result |", "|---|---|---|---|"]
    for r in rows:
        status = f"**{r.status}**" if r.status in (MISS, MISSING) else r.status
        lines.append(f"| {r.figure} | {r.value} | {r.target} | {status} |")
    detail = page_rows(results)
    if detail:
        lines += ["", "| page | size | median | p95 | queries | bare SQL (queries, median) | page ÷ bare SQL |",
                  "|---|---|---|---|---|---|---|"]
        for d in detail:
            lines.append(f"| {d['page']} | {d['size']} | {_fmt(d['median_ms'], ' ms')} | {_fmt(d['p95_ms'], ' ms')} | "
                         f"{d['queries']} | {d['bare_sql_queries']}, {_fmt(d['bare_sql_median_ms'], ' ms')} | "
                         f"×{_fmt(d['page_to_bare_sql'], digits=2)} |")
    machine = results.get("machine") or {}
    ran = results.get("ran_at") or {}
    when = ", ".join(f"{part} {ts[:16].replace('T', ' ')}" for part, ts in sorted(ran.items()))
    lines += ["", f"Last run: {when or '–'} UTC, on {machine.get('cpus', '?')} cores "
                  f"(load average {machine.get('load_before', '?')} before, {machine.get('load_after', '?')} after); "
                  "PostgreSQL " + str(machine.get("postgres", "?")) + ". Full figures in `bench/results.json`."]
    return "\n".join(lines)


def update_readme(path, block):
    """Replace what is between the bench markers in the README with `block`. Returns
    False (and leaves the file alone) when the markers are missing."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: f"{README_START}\n{block}\n{README_END}", text, count=1)
    if new != text:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)
    return True
