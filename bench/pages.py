"""Time the two pages people open most on the seeded databases.

`python -m bench.pages --database-url clinic=URL --database-url network=URL --out F.json`
(DJANGO_SETTINGS_MODULE=config.settings.bench): for each database, a process of its own
(`--serve`) requests the caseload page as the clinic's first therapist, the clinic
dashboard as its admin, and the client page of a client with 8 and one with 400
sessions (made on first use, bench/_fixtures.py) as their therapist, each as first
opened (no query string: default filters), through django.test.Client in-process, so the whole middleware stack, the
database-backed session (saved on every request), the second-factor gate and the
template rendering are in the time.

For each page and size: warm-up requests, then `--samples` timed requests (median and p95
server time), the query count of one request (CaptureQueriesContext), and the bare SQL:
the queries that request ran, minus the framework's own (see `FRAMEWORK_TABLES`),
replayed through a raw cursor with their results fetched. The coordinator takes one
sample at a time from each size in turn, page then bare SQL, so a burst of load from
elsewhere on the shared machine falls on every figure alike and the ratios are measured
in one run.
"""

import argparse
import importlib.util
import json
import math
import os
import re
import statistics
import sys
import time

# A query that reads only these tables serves the framework, not the page's figures:
# the session load and save (django_session), the logged-in user (accounts_user), the
# second-factor device check (otp_*), and request.user.clinic for the time zone
# (accounts_clinic). They are left out of the bare SQL, as is anything not a SELECT.
FRAMEWORK_TABLES = {"django_session", "accounts_user", "accounts_clinic", "otp_totp_totpdevice",
                    "otp_static_staticdevice"}
TABLE_RE = re.compile(r'\b(?:FROM|JOIN)\s+"?([a-z_][a-z0-9_]*)"?', re.IGNORECASE)


def tables_of(sql):
    return set(TABLE_RE.findall(sql))


def is_framework(sql):
    if not sql.lstrip().upper().startswith("SELECT"):
        return True
    tables = tables_of(sql)
    return bool(tables) and tables <= FRAMEWORK_TABLES


def percentile(values, q):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def page_users(clinic_id=None):
    """The clinic (the seeded one unless given), its first therapist and its admin."""
    from accounts.models import Clinic, User

    clinic = Clinic.objects.get(pk=clinic_id) if clinic_id else Clinic.objects.order_by("id").first()
    therapist = User.objects.filter(clinic=clinic, role=User.Role.THERAPIST).order_by("id").first()
    admin = User.objects.filter(clinic=clinic, role=User.Role.CLINIC_ADMIN).order_by("id").first()
    return clinic, therapist, admin


class PageProbe:
    """One page as one user, in this process: a logged-in test client, the page's
    queries once captured, and one timed request or one bare-SQL replay on demand."""

    def __init__(self, user, url):
        from django.test import Client

        # The seeded staff already have a confirmed TOTP device; this marks it as the
        # one that verified the session, as the view tests do.
        from tests.conftest import verified_session_login

        self.user, self.url = user, url
        self.client = verified_session_login(Client(), user)
        self.queries = self.bare = self.excluded = None

    def get(self):
        response = self.client.get(self.url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {self.url} as {self.user.email} answered {response.status_code} "
                               f"{response.get('Location', '')}")
        return response

    def setup(self, warmup):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for _ in range(warmup):
            self.get()
        with CaptureQueriesContext(connection) as captured:
            self.get()
        self.queries = [q["sql"] for q in captured.captured_queries]
        self.bare = [sql for sql in self.queries if not is_framework(sql)]
        self.excluded = [sql for sql in self.queries if is_framework(sql)]
        return {
            "url": self.url, "as": self.user.email, "queries": len(self.queries), "bare_sql_queries": len(self.bare),
            "bare_sql_summary": [_summary(sql) for sql in self.bare],
            "excluded_queries": [_summary(sql) for sql in self.excluded],
            "bare_sql": self.bare,
        }

    def time_page(self):
        t = time.perf_counter()
        self.get()
        return time.perf_counter() - t

    def time_bare(self):
        from django.db import connection

        t = time.perf_counter()
        with connection.cursor() as cursor:
            for sql in self.bare:
                cursor.execute(sql)
                cursor.fetchall()
        return time.perf_counter() - t


def figures(info, page_times, bare_times):
    median, bare_median = statistics.median(page_times), statistics.median(bare_times)
    return {
        **info,
        "samples": len(page_times),
        "median_ms": round(median * 1000, 2),
        "p95_ms": round(percentile(page_times, 95) * 1000, 2),
        "bare_sql_median_ms": round(bare_median * 1000, 2),
        "page_to_bare_sql": round(median / bare_median, 2) if bare_median else None,
    }


def _summary(sql):
    verb = sql.lstrip().split(None, 1)[0].upper()
    return f"{verb} {', '.join(sorted(tables_of(sql))) or '-'}"


PAGES = ("caseload", "dashboard", "client_8", "client_400")
# The client page at two lengths of history, for the same therapist.
CLIENT_HISTORIES = {"client_8": 8, "client_400": 400}


def probes(clinic_id=None):
    from django.urls import reverse

    from accounts.models import User

    from . import _fixtures

    clinic, therapist, admin = page_users(clinic_id)
    # The clients with a long and a short history belong to the clinic's last therapist,
    # so the caseload measured (the first therapist's) does not change with them.
    keeper = User.objects.filter(clinic=clinic, role=User.Role.THERAPIST).order_by("-id").first()
    by_page = {"caseload": PageProbe(therapist, reverse("caseload")),
               "dashboard": PageProbe(admin, reverse("clinic_dashboard"))}
    for page, sessions in CLIENT_HISTORIES.items():
        client = _fixtures.client_with_history(keeper, sessions)
        by_page[page] = PageProbe(keeper, reverse("client_detail", args=[client.pk]))
    return clinic, by_page


def run(samples=40, warmup=5, clinic_id=None):
    """Both pages on the database this process is set up for; page and bare-SQL
    samples alternate."""
    clinic, by_page = probes(clinic_id)
    result = {"clinic_id": clinic.id}
    for page, probe in by_page.items():
        info = probe.setup(warmup)
        page_times, bare_times = [], []
        for _ in range(samples):
            page_times.append(probe.time_page())
            bare_times.append(probe.time_bare())
        result[page] = figures(info, page_times, bare_times)
    return result


# --- several sizes, one process each, sampled in alternation ----------------------------


def serve(warmup):
    """Answer one command per line on stdin, one JSON line each on the real stdout:
    `setup` (log in, warm up, capture the queries), `page NAME`, `bare NAME`, `quit`."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    sys.stdout = sys.stderr  # nothing else may write into the protocol
    clinic, by_page = None, None
    for line in sys.stdin:
        command, _, arg = line.strip().partition(" ")
        if command == "setup":
            clinic, by_page = probes()
            reply = {"clinic_id": clinic.id, **{page: probe.setup(warmup) for page, probe in by_page.items()}}
        elif command == "page":
            reply = {"seconds": by_page[arg].time_page()}
        elif command == "bare":
            reply = {"seconds": by_page[arg].time_bare()}
        elif command == "quit":
            return
        else:
            reply = {"error": f"unknown command {command!r}"}
        out.write(json.dumps(reply) + "\n")


class Worker:
    def __init__(self, size, url, warmup):
        import subprocess

        env = {**os.environ, "DATABASE_URL": url}
        env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
        self.size = size
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.pages", "--serve", "--database-url", url, "--warmup", str(warmup)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True, bufsize=1,
        )

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"pages worker for {self.size} exited ({self.proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"pages worker for {self.size}: {reply['error']}")
        return reply

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - the worker may already be gone
            self.proc.kill()


def measure_sizes(urls, *, samples=40, caseload_samples=200, warmup=5, log=print):
    """Each size's pages in its own process (one database each), sampled in
    alternation — clinic, network, then network, clinic, … — so that load from
    elsewhere on the machine falls on both sizes alike and the ratios between sizes are
    measured in one run. The caseload, some 30 ms, gets more samples than the dashboard:
    its median must resolve a 1.3× target through the machine's noise."""
    workers = {size: Worker(size, url, warmup) for size, url in urls.items()}
    try:
        infos = {size: w.ask("setup") for size, w in workers.items()}
        times = {size: {page: ([], []) for page in PAGES} for size in workers}
        order = list(workers)
        wanted = {"caseload": caseload_samples, "dashboard": samples, "client_8": samples, "client_400": samples}
        for i in range(max(wanted.values())):
            for page in (p for p in PAGES if i < wanted[p]):
                for size in (order if i % 2 == 0 else order[::-1]):
                    w = workers[size]
                    times[size][page][0].append(w.ask(f"page {page}")["seconds"])
                    times[size][page][1].append(w.ask(f"bare {page}")["seconds"])
            if (i + 1) % 20 == 0:
                log(f"  {i + 1}/{max(wanted.values())} rounds", flush=True)
    finally:
        for w in workers.values():
            w.close()
    return {
        size: {"clinic_id": infos[size]["clinic_id"],
               **{page: figures(infos[size][page], *times[size][page]) for page in PAGES}}
        for size in workers
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", action="append", required=True, metavar="[SIZE=]URL",
                        help="a seeded database; give several as SIZE=URL to sample them in alternation")
    parser.add_argument("--out")
    parser.add_argument("--samples", type=int, default=40, help="timed dashboard requests per size")
    parser.add_argument("--caseload-samples", type=int, default=200, help="timed caseload requests per size")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--show-queries", action="store_true", help="print the bare SQL and keep it in the JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    urls = dict(u.split("=", 1) if "=" in u.split("://", 1)[0] else ("pages", u) for u in args.database_url)
    if not args.serve:
        result = measure_sizes(urls, samples=args.samples, caseload_samples=args.caseload_samples,
                               warmup=args.warmup)
        for size, r in result.items():
            for page in PAGES:
                p = r[page]
                print(f"  {size:<8} {page:<10} median {p['median_ms']:8.1f} ms  p95 {p['p95_ms']:8.1f} ms  "
                      f"{p['queries']} queries  bare SQL {p['bare_sql_median_ms']:7.1f} ms  ×{p['page_to_bare_sql']}")
                if args.show_queries:
                    for sql in p["bare_sql"]:
                        print("   ", sql[:300])
                    print("    excluded:", p["excluded_queries"])
                else:
                    del p["bare_sql"]
        if args.out:
            with open(args.out, "w") as fh:
                json.dump(result, fh, indent=2)
        return 0

    (url,) = urls.values()
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django
    from django.conf import settings

    if settings.ROOT_URLCONF == "bench.urls" and importlib.util.find_spec("bench.urls") is None:
        # The pages live in config.urls; bench.urls only adds the throughput view.
        settings.ROOT_URLCONF = "config.urls"
    django.setup()
    serve(args.warmup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
