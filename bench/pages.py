"""Time the two pages people open most, on one seeded database, in this process.

`python -m bench.pages --database-url URL --out F.json` (DJANGO_SETTINGS_MODULE=
config.settings.bench): the caseload page as the clinic's first therapist and the clinic
dashboard as its admin, each as first opened (no query string: default filters), through
django.test.Client, so the whole middleware stack, the database-backed session (saved on
every request), the second-factor gate and the template rendering are in the time.

For each page: warm-up requests, then `--samples` timed requests (median and p95 server
time), the query count of one request (CaptureQueriesContext), and the bare SQL: the
queries that request ran, minus the framework's own (see `FRAMEWORK_TABLES`), replayed
through a raw cursor with their results fetched. Page and bare-SQL samples alternate, so
a burst of load from elsewhere on the machine hits both alike.
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


def verified_login(client, user):
    """The session a staff member has after password and second factor (the same few
    lines as tests.conftest.verified_session_login)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.middleware import LOGIN_AT_SESSION_KEY

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Bench authenticator", confirmed=True)
    engine = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"])
    session = engine.SessionStore()
    session[SESSION_KEY] = user._meta.pk.value_to_string(user)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[LOGIN_AT_SESSION_KEY] = int(time.time())
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def page_users(clinic_id=None):
    """The clinic (the seeded one unless given), its first therapist and its admin."""
    from accounts.models import Clinic, User

    clinic = Clinic.objects.get(pk=clinic_id) if clinic_id else Clinic.objects.order_by("id").first()
    therapist = User.objects.filter(clinic=clinic, role=User.Role.THERAPIST).order_by("id").first()
    admin = User.objects.filter(clinic=clinic, role=User.Role.CLINIC_ADMIN).order_by("id").first()
    return clinic, therapist, admin


def measure_page(user, url, *, samples=40, warmup=5):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = verified_login(Client(), user)

    def get():
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} as {user.email} answered {response.status_code} "
                               f"{response.get('Location', '')}")
        return response

    for _ in range(warmup):
        get()
    with CaptureQueriesContext(connection) as captured:
        get()
    queries = [q["sql"] for q in captured.captured_queries]
    bare = [sql for sql in queries if not is_framework(sql)]
    excluded = [sql for sql in queries if is_framework(sql)]

    def run_bare():
        with connection.cursor() as cursor:
            for sql in bare:
                cursor.execute(sql)
                cursor.fetchall()

    page_times, bare_times = [], []
    for _ in range(samples):
        t = time.perf_counter()
        get()
        page_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_bare()
        bare_times.append(time.perf_counter() - t)
    median, bare_median = statistics.median(page_times), statistics.median(bare_times)
    return {
        "url": url,
        "as": user.email,
        "samples": samples,
        "median_ms": round(median * 1000, 2),
        "p95_ms": round(percentile(page_times, 95) * 1000, 2),
        "queries": len(queries),
        "bare_sql_queries": len(bare),
        "bare_sql_median_ms": round(bare_median * 1000, 2),
        "page_to_bare_sql": round(median / bare_median, 2) if bare_median else None,
        "bare_sql_summary": [_summary(sql) for sql in bare],
        "excluded_queries": [_summary(sql) for sql in excluded],
        "bare_sql": bare,
    }


def _summary(sql):
    verb = sql.lstrip().split(None, 1)[0].upper()
    return f"{verb} {', '.join(sorted(tables_of(sql))) or '-'}"


def run(samples=40, warmup=5, clinic_id=None):
    from django.urls import reverse

    clinic, therapist, admin = page_users(clinic_id)
    return {
        "clinic_id": clinic.id,
        "caseload": measure_page(therapist, reverse("caseload"), samples=samples, warmup=warmup),
        "dashboard": measure_page(admin, reverse("clinic_dashboard"), samples=samples, warmup=warmup),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--show-queries", action="store_true", help="print the bare SQL and keep it in the JSON")
    args = parser.parse_args(argv)

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django
    from django.conf import settings

    if settings.ROOT_URLCONF == "bench.urls" and importlib.util.find_spec("bench.urls") is None:
        # The pages live in config.urls; bench.urls only adds the throughput view.
        settings.ROOT_URLCONF = "config.urls"
    django.setup()
    result = run(samples=args.samples, warmup=args.warmup)
    for page in ("caseload", "dashboard"):
        r = result[page]
        print(f"  {page:<10} median {r['median_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  "
              f"{r['queries']} queries  bare SQL {r['bare_sql_median_ms']:7.1f} ms  ×{r['page_to_bare_sql']}")
        if args.show_queries:
            for sql in r["bare_sql"]:
                print("   ", sql[:300])
            print("    excluded:", r["excluded_queries"])
        else:
            del r["bare_sql"]
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
