"""`make bench` = `python -m bench [--only seed,pages,throughput,dispatch] [--reseed]`.

With PostgreSQL and Redis up: seeds the two sizes (bench/seed.py, skipped when already
seeded), times the caseload and the clinic dashboard on each (bench/pages.py, one process
per size), runs survey throughput (bench/throughput.py) and email dispatch
(bench/dispatch.py) on their own database, then prints every figure against its target
(bench/report.py), writes bench/results.json and rewrites the README's table.

Every part runs in its own process, with DJANGO_SETTINGS_MODULE=config.settings.bench.
A part that is missing or fails is reported as such and makes the exit status 1, but
the rest still runs and is written. Parts left out with --only keep their last figures
in results.json (each part's time is in "ran_at").
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import report
from bench.seed import DATABASES, SIZES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
PARTS = ("seed", "pages", "throughput", "dispatch")
CONTRACT = {
    "throughput": {"requests", "workers", "survey_pair_rps", "minimal_pair_rps", "ratio", "survey_post_rps",
                   "minimal_view_rps", "post_ratio", "web_worker_peak_rss_mb"},
    "dispatch": {"emails", "celery_emails_per_s", "smtplib_emails_per_s", "ratio", "lost", "duplicates",
                 "celery_worker_peak_rss_mb"},
}
TIMEOUTS = {"seed": 1800, "pages": 1800, "throughput": 2400, "dispatch": 2400}


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def db_url(server, name):
    return f"{server.rstrip('/')}/{name}"


def run_part(part, module, args, env, tmp, timeout):
    """Run `python -m module args --out F`; return (dict, None) or (None, error)."""
    if importlib.util.find_spec(module) is None:
        return None, f"missing: no module {module}"
    out = Path(tmp) / f"{module.replace('.', '_')}-{len(os.listdir(tmp))}.json"
    cmd = [sys.executable, "-m", module, *args, "--out", str(out)]
    print(f"\n$ {' '.join(cmd[1:])}", flush=True)
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"failed: timed out after {timeout} s"
    print(f"  ({module}: {time.perf_counter() - started:.0f} s, exit {proc.returncode})", flush=True)
    if proc.returncode != 0:
        return None, f"failed: exit status {proc.returncode}"
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError) as exc:
        return None, f"failed: no readable JSON ({exc})"
    missing = CONTRACT.get(part, set()) - set(data)
    if missing:
        return None, f"failed: JSON lacks {', '.join(sorted(missing))}"
    return data, None


def postgres_version(server):
    try:
        import psycopg2

        conn = psycopg2.connect(db_url(server, "postgres"))
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW server_version")
                return cur.fetchone()[0]
        finally:
            conn.close()
    except Exception as exc:  # noqa: BLE001 - a label only
        return f"unknown ({exc.__class__.__name__})"


def load_previous():
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS),
                        help="comma-separated parts to run: seed, pages (seeds first), throughput, dispatch")
    parser.add_argument("--reseed", action="store_true", help="seed both sizes again even if already seeded")
    parser.add_argument("--samples", type=int, default=40, help="timed requests per page and size")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL, without a database name")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    parser.add_argument("--io-database", default="rapport_bench_io",
                        help="database that throughput and dispatch drop and create for themselves")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite the README's table")
    args = parser.parse_args(argv)

    only = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = only - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    if "pages" in only:
        only.add("seed")

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench", "REDIS_URL": args.redis_url,
           "PYTHONUNBUFFERED": "1"}
    results = load_previous()
    results.pop("verdicts", None)
    results.setdefault("ran_at", {})
    results["machine"] = {
        "cpus": os.cpu_count(), "python": platform.python_version(), "postgres": postgres_version(args.postgres),
        "load_before": round(os.getloadavg()[0], 2),
    }
    problems = {}

    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as tmp:
        if "seed" in only:
            results["seed"] = {}
            for size in SIZES:
                url = db_url(args.postgres, DATABASES[size])
                data, error = run_part(
                    "seed", "bench.seed", ["--database-url", url, "--size", size, *(["--reseed"] if args.reseed else [])],
                    env, tmp, TIMEOUTS["seed"],
                )
                results["seed"][size] = data if data is not None else {"error": error}
                if error:
                    problems[f"seed {size}"] = error
            results["ran_at"]["seed"] = now_iso()

        if "pages" in only:
            ready = {size: db_url(args.postgres, DATABASES[size]) for size in SIZES if f"seed {size}" not in problems}
            results["pages"] = {size: {"error": "not run: seeding failed"} for size in SIZES if size not in ready}
            for size in results["pages"]:
                problems[f"pages {size}"] = "not run: seeding failed"
            if ready:
                data, error = run_part(
                    "pages", "bench.pages",
                    [*(f"--database-url={size}={url}" for size, url in ready.items()), "--samples", str(args.samples)],
                    env, tmp, TIMEOUTS["pages"],
                )
                for size in ready:
                    results["pages"][size] = data[size] if data is not None else {"error": error}
                if error:
                    problems["pages"] = error
            results["ran_at"]["pages"] = now_iso()

        io_url = db_url(args.postgres, args.io_database)
        for part in ("throughput", "dispatch"):
            if part not in only:
                continue
            data, error = run_part(part, f"bench.{part}", ["--database-url", io_url, "--redis-url", args.redis_url],
                                   env, tmp, TIMEOUTS[part])
            results[part] = data if data is not None else {"error": error}
            if error:
                problems[part] = error
            results["ran_at"][part] = now_iso()

    results["machine"]["load_after"] = round(os.getloadavg()[0], 2)
    results["problems"] = problems
    rows = report.evaluate(results)
    results["verdicts"] = report.as_json(rows)
    results["summary"] = report.summary(rows)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")

    print("\n" + report.text_table(rows))
    for name, error in problems.items():
        print(f"  {name}: {error}")
    print(f"\n{report.summary(rows)}; written to {RESULTS.relative_to(ROOT)}")
    if not args.no_readme:
        if report.update_readme(README, report.markdown(results, rows)):
            print(f"README table updated ({README.name}).")
        else:
            print(f"README has no {report.README_START} … {report.README_END} markers: not updated.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
