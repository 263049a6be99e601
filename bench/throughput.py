"""The client's check-in through gunicorn on loopback: Rapport's GET + POST pair
(/s/<token>/: the form, then the answers) against the minimal view's pair of
bench/views.py (a GET that reads one row, a POST that inserts one), same server, same
workers, same load generator, measured in alternating rounds so that both sides share
the machine's noise. The POST alone against the minimal POST is measured too, for
information, and so is the peak resident memory of the web workers.

    python -m bench.throughput --database-url postgres://postgres@127.0.0.1:5432/rapport_bench_tp --out FILE

The database named is dropped and created again. Each check-in POST consumes its token
(a second POST of one link gets the "gone" page), so the module mints one live
invitation per pair and per POST, the way the outbox does: a fresh token, only its
digest stored.
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
# What each request of a job must answer: (status, Location header or None).
SURVEY_GET_OK = (200, None)
SURVEY_POST_OK = SURVEY_SUCCESS
MINIMAL_GET_OK = (200, None)
MINIMAL_POST_OK = (MINIMAL_SUCCESS, None)
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
    """One load-generating process: one job at a time, each job a few requests in a row
    (the GET then the POST of one link, or the POST alone), each on a new connection
    (gunicorn's sync workers close it after every response). A job counts as a success
    only if every one of its requests got the answer it expects."""
    form = {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1"}
    plain = {"Host": "127.0.0.1"}
    while True:
        job = jobs.get()
        if job is None:
            return
        side, requests = job
        ok, errors = 0, {}
        started = time.monotonic()
        for steps in requests:
            key = None
            for method, path, body, (want_status, want_location) in steps:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    if method == "POST":
                        conn.request("POST", path, body=body, headers=form)
                    else:
                        conn.request("GET", path, headers=plain)
                    response = conn.getresponse()
                    response.read()
                    conn.close()
                    good = response.status == want_status and (
                        want_location is None or response.getheader("Location") == want_location
                    )
                    key = None if good else f"{method} HTTP {response.status}"
                except (OSError, http.client.HTTPException) as exc:
                    key = f"{method} {type(exc).__name__}"
                if key is not None:
                    break
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


# The four kinds of round: the target compares the pairs, the POSTs alone are information.
SIDES = ("survey_pair", "minimal_pair", "survey_post", "minimal_post")


def jobs_for(tokens, rng, *, pairs, posts):
    """The requests of each side: `pairs` GET + POST jobs and `posts` POST-only jobs for
    the check-in (one token each) and as many of each for the minimal view."""
    assert len(tokens) >= pairs + posts
    survey_pairs = [
        ((("GET", f"/s/{t}/", None, SURVEY_GET_OK), ("POST", f"/s/{t}/", answers_body(rng), SURVEY_POST_OK)))
        for t in tokens[:pairs]
    ]
    survey_posts = [(("POST", f"/s/{t}/", answers_body(rng), SURVEY_POST_OK),) for t in tokens[pairs : pairs + posts]]
    minimal_pairs = [
        (("GET", MINIMAL_PATH, None, MINIMAL_GET_OK), ("POST", MINIMAL_PATH, answers_body(rng) + f"&value=p{i}", MINIMAL_POST_OK))
        for i in range(pairs)
    ]
    minimal_posts = [(("POST", MINIMAL_PATH, answers_body(rng) + f"&value=r{i}", MINIMAL_POST_OK),) for i in range(posts)]
    return {"survey_pair": survey_pairs, "minimal_pair": minimal_pairs, "survey_post": survey_posts,
            "minimal_post": minimal_posts}


def run(*, database_url, out, redis_url, requests, workers, concurrency, rounds, warmup, seed_value=7):
    """`requests` GET + POST pairs a side, and as many POSTs alone a side."""
    rng = random.Random(seed_value)
    _procs.recreate_database(database_url)
    _procs.django_setup(database_url, redis_url)
    from alliance.models import CheckIn
    from bench.views import row_count

    per_round = max(1, requests // rounds)
    requests = per_round * rounds
    t = time.monotonic()
    tokens = seed(2 * (requests + warmup), rng=rng)
    seed_seconds = time.monotonic() - t
    checkins_before = CheckIn.objects.filter(source=CheckIn.Source.CLIENT).count()
    _procs.close_db()

    jobs = jobs_for(tokens, rng, pairs=requests + warmup, posts=requests + warmup)
    warm = {side: jobs[side][:warmup] for side in SIDES}
    timed = {side: jobs[side][warmup:] for side in SIDES}

    port = _procs.free_port()
    env = _procs.bench_env(database_url, redis_url)
    log_path = Path(tempfile.gettempdir()) / f"rapport-bench-gunicorn-{os.getpid()}.log"
    server = load = None
    result = {"requests": requests, "workers": workers}
    try:
        server = _procs.start(gunicorn_args(port, workers), env=env, log_path=log_path)
        _procs.wait_for_port(port, timeout=60, proc=server)
        load = LoadGenerator(port, concurrency)
        errors = {side: {} for side in SIDES}
        ok = {side: 0 for side in SIDES}
        seconds = {side: 0.0 for side in SIDES}
        per_round_rps = {side: [] for side in SIDES}
        # Warm-up, not timed: imports, templates, each worker's database connection.
        for side in SIDES:
            w_ok, w_err, _ = load.run(side, warm[side], timeout=300)
            if w_err:
                errors[side].update({f"warmup {k}": v for k, v in w_err.items()})
        # A B B A A B …: each side of a comparison goes first in half the rounds.
        for r in range(rounds):
            order = SIDES if r % 2 == 0 else ("minimal_pair", "survey_pair", "minimal_post", "survey_post")
            for side in order:
                batch = timed[side][r * per_round : (r + 1) * per_round]
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

    rps = {side: requests / seconds[side] for side in SIDES}
    checkins_created = CheckIn.objects.filter(source=CheckIn.Source.CLIENT).count() - checkins_before
    rows_inserted = row_count()
    _procs.close_db()
    result.update(
        survey_pair_rps=round(rps["survey_pair"], 1),
        minimal_pair_rps=round(rps["minimal_pair"], 1),
        ratio=round(rps["survey_pair"] / rps["minimal_pair"], 3),
        survey_post_rps=round(rps["survey_post"], 1),
        minimal_view_rps=round(rps["minimal_post"], 1),
        post_ratio=round(rps["survey_post"] / rps["minimal_post"], 3),
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
        checkins_expected=2 * (requests + warmup),
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
    parser.add_argument("--requests", type=int, default=2000,
                        help="timed GET + POST pairs per side, and as many POSTs alone per side")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (both sides)")
    parser.add_argument("--concurrency", type=int, default=4, help="load-generator processes")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per side")
    parser.add_argument("--warmup", type=int, default=40, help="untimed jobs per side first")
    args = parser.parse_args(argv)
    result = run(
        database_url=args.database_url, out=args.out, redis_url=args.redis_url, requests=args.requests,
        workers=args.workers, concurrency=args.concurrency, rounds=args.rounds, warmup=args.warmup,
    )
    print(
        f"check-in GET + POST {result['survey_pair_rps']} pairs/s, minimal {result['minimal_pair_rps']} pairs/s, "
        f"ratio {result['ratio']} (target ≥ 0.7); POST alone {result['survey_post_rps']} ÷ "
        f"{result['minimal_view_rps']} req/s = {result['post_ratio']}; web worker peak RSS "
        f"{result['web_worker_peak_rss_mb']} MB (target < 150); check-ins "
        f"{result['checkins_created']}/{result['checkins_expected']}; errors {result['errors']}"
    )


if __name__ == "__main__":
    main()
