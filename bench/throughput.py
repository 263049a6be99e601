"""Survey submissions per second through gunicorn on loopback: Rapport's check-in POST
(/s/<token>/) against the minimal view of bench/views.py (one INSERT), same server, same
workers, same load generator, measured in alternating rounds so that both sides share
the machine's noise. Also the peak resident memory of the web workers.

    python -m bench.throughput --database-url postgres://postgres@127.0.0.1:5432/rapport_bench_tp --out FILE

The database named is dropped and created again. Each check-in POST consumes its token
(a second POST of one link gets the "gone" page), so the module mints one live
invitation per request, the way the outbox does: a fresh token, only its digest stored.
"""

import argparse
import http.client
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import _fixtures, _procs

SURVEY_SUCCESS = (302, "/s/thanks/?lang=en")
MINIMAL_SUCCESS = 204
MINIMAL_PATH = "/bench/minimal/"
DIMENSIONS = ("trust", "empathy", "boundaries", "collaboration")


# --- Seeding ----------------------------------------------------------------------------


def seed(count, *, clients=250, history=3, rng):
    """One clinic, one therapist, `clients` consenting clients each with `history`
    answered check-ins, and `count` sent, unanswered invitations spread over the
    clients. Returns the invitations' tokens in a shuffled order."""
    from django.utils import timezone

    from alliance.checkins.invitations import new_token
    from alliance.models import CheckIn, SurveyInvitation
    from bench.views import ensure_table
    from sessions.models import Session

    now = timezone.now()
    therapist, people = _fixtures.clinic_with_clients(clients)

    def session(client, start):
        return _fixtures.attended_session(client, therapist, start)

    # Earlier, answered sessions, so the flag rules read a real history on every POST.
    past = Session.objects.bulk_create(
        session(c, now - timedelta(days=7 * (history + 1 - k))) for c in people for k in range(history)
    )
    CheckIn.objects.bulk_create(
        CheckIn(
            session=s, client=s.client, source=CheckIn.Source.CLIENT, submitted_at=s.scheduled_start + timedelta(hours=2),
            **{d: rng.randint(7, 10) for d in DIMENSIONS},
        )
        for s in past
    )
    # This week's sessions, each with its check-in email sent an hour ago.
    live = Session.objects.bulk_create(
        session(people[i % clients], now - timedelta(days=1, minutes=i % 600)) for i in range(count)
    )
    tokens, rows = [], []
    for s in live:
        token, digest = new_token()
        tokens.append(token)
        rows.append(
            SurveyInvitation(
                session=s, client=s.client, token_hash=digest, status=SurveyInvitation.Status.SENT,
                due_at=now - timedelta(hours=2), sent_at=now - timedelta(hours=1), expires_at=now + timedelta(days=7),
                attempts=1,
            )
        )
    SurveyInvitation.objects.bulk_create(rows, batch_size=1000)
    ensure_table()
    _procs.analyze()
    rng.shuffle(tokens)
    return tokens


def answers_body(rng, comment=""):
    """A valid check-in form body, as the page's form posts it."""
    from urllib.parse import urlencode

    fields = {d: str(rng.randint(5, 10)) for d in DIMENSIONS}
    fields["comment"] = comment
    return urlencode(fields)


# --- Load generator (its own processes) -------------------------------------------------


def _client_process(port, jobs, results):
    """One load-generating process: one request at a time, each on a new connection
    (gunicorn's sync workers close it after every response)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1"}
    while True:
        job = jobs.get()
        if job is None:
            return
        side, requests = job
        ok, errors = 0, {}
        started = time.monotonic()
        for path, body in requests:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                conn.close()
                if side == "survey":
                    good = (response.status, response.getheader("Location")) == SURVEY_SUCCESS
                else:
                    good = response.status == MINIMAL_SUCCESS
                key = None if good else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                key = type(exc).__name__
            if key is None:
                ok += 1
            else:
                errors[key] = errors.get(key, 0) + 1
        results.put((side, ok, errors, started, time.monotonic()))


class LoadGenerator:
    def __init__(self, port, concurrency):
        ctx = multiprocessing.get_context("spawn")
        self.results = ctx.Queue()
        self.queues = [ctx.Queue() for _ in range(concurrency)]
        self.procs = [ctx.Process(target=_client_process, args=(port, q, self.results), daemon=True) for q in self.queues]
        for p in self.procs:
            p.start()

    def run(self, side, requests, *, timeout):
        """Split `requests` over the processes, run them at once, and return
        (ok, errors, wall seconds from the first start to the last end)."""
        n = len(self.queues)
        for i, q in enumerate(self.queues):
            q.put((side, requests[i::n]))
        ok, errors, starts, ends = 0, {}, [], []
        deadline = time.monotonic() + timeout
        for _ in range(n):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{side} round did not finish in {timeout}s")
            got_side, got_ok, got_errors, start, end = self.results.get(timeout=remaining)
            assert got_side == side
            ok += got_ok
            for k, v in got_errors.items():
                errors[k] = errors.get(k, 0) + v
            starts.append(start)
            ends.append(end)
        return ok, errors, max(ends) - min(starts)

    def close(self):
        for q in self.queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)


# --- The run ----------------------------------------------------------------------------


def gunicorn_args(port, workers):
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync",
        # No worker recycling (production's --max-requests), so the peak RSS covers the
        # whole run; no access log (it would hold every token); no control socket.
        "--log-level", "warning", "--no-control-socket", "--timeout", "60",
    ]


def run(*, database_url, out, redis_url, requests, workers, concurrency, rounds, warmup, seed_value=7):
    rng = random.Random(seed_value)
    _procs.recreate_database(database_url)
    _procs.django_setup(database_url, redis_url)
    from alliance.models import CheckIn
    from bench.views import row_count

    per_round = max(1, requests // rounds)
    requests = per_round * rounds
    t = time.monotonic()
    tokens = seed(requests + warmup, rng=rng)
    seed_seconds = time.monotonic() - t
    checkins_before = CheckIn.objects.filter(source=CheckIn.Source.CLIENT).count()
    _procs.close_db()

    survey = [(f"/s/{token}/", answers_body(rng)) for token in tokens]
    minimal = [(MINIMAL_PATH, answers_body(rng) + f"&value=row{i}") for i in range(requests + warmup)]
    survey_warm, survey = survey[:warmup], survey[warmup:]
    minimal_warm, minimal = minimal[:warmup], minimal[warmup:]

    port = _procs.free_port()
    env = _procs.bench_env(database_url, redis_url)
    log_path = Path(tempfile.gettempdir()) / f"rapport-bench-gunicorn-{os.getpid()}.log"
    server = load = None
    result = {"requests": requests, "workers": workers}
    try:
        server = _procs.start(gunicorn_args(port, workers), env=env, log_path=log_path)
        _procs.wait_for_port(port, timeout=60, proc=server)
        load = LoadGenerator(port, concurrency)
        errors = {"survey": {}, "minimal": {}}
        ok = {"survey": 0, "minimal": 0}
        seconds = {"survey": 0.0, "minimal": 0.0}
        per_round_rps = {"survey": [], "minimal": []}
        # Warm-up, not timed: imports, templates, each worker's database connection.
        for side, batch in (("survey", survey_warm), ("minimal", minimal_warm)):
            w_ok, w_err, _ = load.run(side, batch, timeout=300)
            if w_err:
                errors[side].update({f"warmup {k}": v for k, v in w_err.items()})
        # A B B A A B …: each side goes first in half the rounds.
        for r in range(rounds):
            order = ("survey", "minimal") if r % 2 == 0 else ("minimal", "survey")
            for side in order:
                source = survey if side == "survey" else minimal
                batch = source[r * per_round : (r + 1) * per_round]
                r_ok, r_err, wall = load.run(side, batch, timeout=600)
                ok[side] += r_ok
                seconds[side] += wall
                per_round_rps[side].append(round(len(batch) / wall, 1))
                for k, v in r_err.items():
                    errors[side][k] = errors[side].get(k, 0) + v
        worker_pids = _procs.children(server.pid)
        peaks = _procs.peak_rss_mb(worker_pids)
        master_peak = _procs.peak_rss_mb([server.pid]).get(server.pid)
    finally:
        if load is not None:
            load.close()
        _procs.stop(server)

    survey_rps = requests / seconds["survey"]
    minimal_rps = requests / seconds["minimal"]
    checkins_created = CheckIn.objects.filter(source=CheckIn.Source.CLIENT).count() - checkins_before
    rows_inserted = row_count()
    _procs.close_db()
    result.update(
        survey_post_rps=round(survey_rps, 1),
        minimal_view_rps=round(minimal_rps, 1),
        ratio=round(survey_rps / minimal_rps, 3),
        web_worker_peak_rss_mb=max(peaks.values()) if peaks else None,
        target_ratio=0.7,
        target_web_worker_rss_mb=150,
        concurrency=concurrency,
        rounds=rounds,
        warmup_per_side=warmup,
        per_round_rps=per_round_rps,
        successes=ok,
        errors=errors,
        checkins_created=checkins_created,
        checkins_expected=requests + warmup,
        minimal_rows_inserted=rows_inserted,
        web_worker_peak_rss_mb_each=list(peaks.values()),
        gunicorn_master_peak_rss_mb=master_peak,
        server=" ".join(gunicorn_args(port, workers)[1:]),
        seed_seconds=round(seed_seconds, 1),
        cpu_count=os.cpu_count(),
    )
    _procs.write_json(out, result)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL database to drop and create again")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or _procs.DEFAULT_REDIS_URL)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per side")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (both sides)")
    parser.add_argument("--concurrency", type=int, default=4, help="load-generator processes")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per side")
    parser.add_argument("--warmup", type=int, default=40, help="untimed requests per side first")
    args = parser.parse_args(argv)
    result = run(
        database_url=args.database_url, out=args.out, redis_url=args.redis_url, requests=args.requests,
        workers=args.workers, concurrency=args.concurrency, rounds=args.rounds, warmup=args.warmup,
    )
    print(
        f"survey POST {result['survey_post_rps']} req/s, minimal view {result['minimal_view_rps']} req/s, "
        f"ratio {result['ratio']} (target ≥ 0.7); web worker peak RSS {result['web_worker_peak_rss_mb']} MB "
        f"(target < 150); check-ins {result['checkins_created']}/{result['checkins_expected']}"
    )


if __name__ == "__main__":
    main()
