"""Check-in emails per second through the real outbox — the sweep, a Celery worker on
Redis, Django's SMTP backend — into a local SMTP sink, against a plain `smtplib` loop
sending the very bytes the sink received to the same sink; lost and duplicated emails;
peak resident memory of the Celery worker.

    python -m bench.dispatch --database-url postgres://postgres@127.0.0.1:5432/rapport_bench_dispatch --out FILE

The database named is dropped and created again. The two sides take turns (--rounds,
4 by default): a block of invitations is made due, swept and sent by Celery, then the
smtplib loop sends that block's bytes; each side's rate is its emails over its summed
time, so both share the machine's noise.

Fairness: the outbox sends a task's batch (SURVEY_SEND_BATCH rows) over one SMTP
connection, so the headline `smtplib` loop reuses a connection for the same number of
messages (connect, EHLO, then MAIL, RCPT, DATA per message, QUIT); a loop opening one
connection per message, and one reusing a single connection for everything, are
reported beside it for scale.
The sweep runs in this process, called the way beat's task would run it
(`dispatch_due_invitations`), again and again until nothing is due: beat itself sweeps
once a minute, at most SURVEY_DISPATCH_BATCH rows each time (see the report's note).
"""

import argparse
import collections
import email
import multiprocessing
import os
import re
import smtplib
import socket
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import _fixtures, _procs

STALL = 120  # seconds without a new email before the wait gives up
# How often the wait samples the worker's memory. Each sample walks /proc, which at
# every 50 ms took a tenth of a core from the side being measured; the kernel keeps
# each process's peak (VmHWM), so a sample a second loses only a pool child that was
# recycled in between, and the bench's children live for 1,000 tasks.
SAMPLE_EVERY = 1.0
SURVEY_LINK = re.compile(rb"/s/([A-Za-z0-9_-]{20,100})/")


# --- Counting ---------------------------------------------------------------------------


def count_delivery(expected, received):
    """Compare the addresses that should each get one email (one per invitation) with
    the recipients of the emails that arrived (one entry per recipient per email).

    Returns {"lost": invitations with no email, "duplicates": emails beyond the first
    for one invitation, "unexpected": emails to no invitation's address}."""
    expected = list(expected)
    wanted = set(expected)
    if len(wanted) != len(expected):
        raise ValueError("each invitation must have its own address to tell emails apart")
    got = collections.Counter(received)
    return {
        "lost": sum(1 for address in wanted if got[address] == 0),
        "duplicates": sum(n - 1 for address, n in got.items() if address in wanted and n > 1),
        "unexpected": sum(n for address, n in got.items() if address not in wanted),
    }


# --- The SMTP sink (its own process) ----------------------------------------------------


def _sink_process(port, ready, count, last_at, commands):
    """aiosmtpd on 127.0.0.1:port, keeping every message in memory. `count` and
    `last_at` (time.monotonic() of the last arrival, comparable across processes on
    Linux) are shared values; `commands` is a pipe: "dump", "take" (dump and forget), "reset", "stop"."""
    from aiosmtpd.controller import Controller

    messages = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            with count.get_lock():
                count.value += 1
            last_at.value = time.monotonic()
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port, server_hostname="sink.bench.invalid")
    controller.start()
    ready.set()
    try:
        while True:
            if not commands.poll(3600):
                return
            command = commands.recv()
            if command == "dump":
                commands.send(list(messages))
            elif command == "take":
                taken = list(messages)
                messages.clear()
                with count.get_lock():
                    count.value = 0
                commands.send(taken)
            elif command == "reset":
                messages.clear()
                with count.get_lock():
                    count.value = 0
                commands.send("ok")
            else:
                return
    finally:
        controller.stop()


class Sink:
    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self.port = _procs.free_port()
        self.count = ctx.Value("l", 0)
        self.last_at = ctx.Value("d", 0.0)
        ready = ctx.Event()
        self.commands, child_end = ctx.Pipe()
        self.proc = ctx.Process(
            target=_sink_process, args=(self.port, ready, self.count, self.last_at, child_end), daemon=True
        )
        self.proc.start()
        if not ready.wait(30):
            self.close()
            raise TimeoutError("the SMTP sink did not start in 30s")

    def _ask(self, command, timeout=120):
        self.commands.send(command)
        if not self.commands.poll(timeout):
            raise TimeoutError(f"the SMTP sink did not answer {command!r}")
        return self.commands.recv()

    def dump(self):
        return self._ask("dump")

    def reset(self):
        self._ask("reset")

    def take(self):
        """The messages received so far, and forget them (the count restarts at 0)."""
        return self._ask("take")

    def wait_for(self, n, *, timeout, stall=STALL):
        """Wait until n messages arrived, at most `timeout` seconds, or `stall` seconds
        without a new one. Returns the count."""
        deadline = time.monotonic() + timeout
        seen, seen_at = -1, time.monotonic()
        while time.monotonic() < deadline:
            now_count = self.count.value
            if now_count >= n:
                return now_count
            if now_count != seen:
                seen, seen_at = now_count, time.monotonic()
            elif time.monotonic() - seen_at > stall:
                break
            time.sleep(0.05)
        return self.count.value

    def close(self):
        try:
            self.commands.send("stop")
        except (OSError, ValueError):
            pass
        self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(timeout=5)


# --- Seeding ----------------------------------------------------------------------------


def seed(count):
    """One clinic and therapist; `count` consenting clients with distinct addresses, each
    with an attended session whose check-in invitation is scheduled, as
    sessions.services leaves it, but not yet due: `make_due` releases them a block at a
    time. Returns {address: invitation id}."""
    from django.utils import timezone

    from alliance.checkins.invitations import new_token
    from alliance.models import SurveyInvitation
    from sessions.models import Session

    now = timezone.now()
    therapist, people = _fixtures.clinic_with_clients(count, spanish_every=5)
    sessions = Session.objects.bulk_create(
        (_fixtures.attended_session(c, therapist, now - timedelta(hours=3)) for c in people), batch_size=1000
    )
    invitations = SurveyInvitation.objects.bulk_create(
        (
            # The digest of a token nobody knows, as invitation_schedule_for_session
            # stores it; the sender mints the real token.
            SurveyInvitation(session=s, client=s.client, token_hash=new_token()[1], due_at=now + timedelta(days=1))
            for s in sessions
        ),
        batch_size=1000,
    )
    _procs.analyze()
    return {inv.client.email: inv.id for inv in invitations}


def make_due(ids):
    """Bring these scheduled invitations due (a minute ago)."""
    from django.utils import timezone

    from alliance.models import SurveyInvitation

    return SurveyInvitation.objects.filter(id__in=ids, status="scheduled").update(
        due_at=timezone.now() - timedelta(minutes=1)
    )


# --- Celery -----------------------------------------------------------------------------


def worker_args(queue, node, concurrency):
    # As docker-compose.yml runs the worker (INFO log, children recycled after 1,000
    # tasks, four processes unless told otherwise), on the prefork pool, with a queue of
    # its own.
    return [
        sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-n", node,
        "-P", "prefork", f"--concurrency={concurrency}", "--max-tasks-per-child=1000", "--loglevel=INFO",
    ]


def wait_ready(proc, log_path, *, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the Celery worker exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        if b" ready." in log_path.read_bytes():
            return
        time.sleep(0.2)
    raise TimeoutError(f"the Celery worker was not ready after {timeout}s")


def redis_cleanup(redis_url, queue, node):
    """Delete what this run left in Redis: its queue (and kombu's priority sub-queues),
    its binding, and its worker's remote-control (pidbox) queue and bindings."""
    import redis

    r = redis.Redis.from_url(redis_url, socket_timeout=5)
    deleted = 0
    keys = [k for k in r.scan_iter(match=f"{queue}*", count=1000)]
    keys += [f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}", f"{node}.celery.pidbox"]
    if keys:
        deleted += r.delete(*keys)
    for binding in r.scan_iter(match="_kombu.binding.*", count=1000):
        if r.type(binding) != b"set":
            continue
        members = [m for m in r.smembers(binding) if node.encode() in m or queue.encode() in m]
        if members:
            deleted += r.srem(binding, *members)
    return deleted


class PeakSampler:
    """Peak RSS (VmHWM) of a process tree, sampled while it runs: pool children that are
    recycled (--max-tasks-per-child) take their peak with them."""

    def __init__(self, root):
        self.root = root
        self.peaks = {}

    def sample(self):
        for pid, mb in _procs.peak_rss_mb(_procs.tree(self.root)).items():
            self.peaks[pid] = max(mb, self.peaks.get(pid, 0))

    @property
    def worst(self):
        return max(self.peaks.values()) if self.peaks else None


# --- smtplib ----------------------------------------------------------------------------


# The loops' envelope sender (the message bytes are the ones Celery's emails had), so a
# late Celery email arriving during a loop is still counted as Celery's.
PLAIN_SENDER = "smtplib-loop@bench.invalid"


def smtplib_per_message(port, messages, local_hostname):
    """One connection per message, as Django's backend under email_send: connect, EHLO,
    send, QUIT."""
    started = time.monotonic()
    for _, rcpts, data in messages:
        with smtplib.SMTP("127.0.0.1", port, local_hostname=local_hostname, timeout=30) as smtp:
            smtp.sendmail(PLAIN_SENDER, rcpts, data)
    return time.monotonic() - started


def smtplib_batched(port, messages, local_hostname, batch):
    """One connection per `batch` messages, as the outbox's send task reuses one."""
    started = time.monotonic()
    for start in range(0, len(messages), batch):
        with smtplib.SMTP("127.0.0.1", port, local_hostname=local_hostname, timeout=30) as smtp:
            for _, rcpts, data in messages[start:start + batch]:
                smtp.sendmail(PLAIN_SENDER, rcpts, data)
    return time.monotonic() - started


def smtplib_one_connection(port, messages, local_hostname):
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", port, local_hostname=local_hostname, timeout=30) as smtp:
        for _, rcpts, data in messages:
            smtp.sendmail(PLAIN_SENDER, rcpts, data)
    return time.monotonic() - started


# --- The run ----------------------------------------------------------------------------


def link_digests(messages):
    """{recipient: sha256 of the survey token in the email's link} for checking that
    each email's link opens its invitation."""
    from alliance.checkins.invitations import token_digest

    out = {}
    for _, rcpts, data in messages:
        msg = email.message_from_bytes(data)
        text = b""
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                text = part.get_payload(decode=True) or b""
                break
        match = SURVEY_LINK.search(text)
        for rcpt in rcpts:
            out[rcpt] = token_digest(match.group(1).decode()) if match else None
    return out


def run(*, database_url, out, redis_url, emails, concurrency, rounds, timeout):
    """Celery and the smtplib loop take turns: in each round one block of invitations is
    made due and swept, its emails are awaited, and then the smtplib loop sends that
    block's bytes, so that both sides share the machine's noise."""
    queue = f"rapport-bench-dispatch-{os.getpid()}"
    node = f"bench-dispatch-{os.getpid()}@{socket.gethostname()}"
    sink = worker = None
    log_path = Path(tempfile.gettempdir()) / f"rapport-bench-celery-{os.getpid()}.log"
    result = {"emails": emails}
    try:
        sink = Sink()
        extra = dict(CELERY_QUEUE=queue, EMAIL_URL=f"smtp://127.0.0.1:{sink.port}")
        _procs.recreate_database(database_url)
        _procs.django_setup(database_url, redis_url, **extra)
        from django.conf import settings
        from django.core.mail.utils import DNS_NAME

        from alliance.models import SurveyInvitation
        from alliance.checkins.tasks import dispatch_due_invitations

        t = time.monotonic()
        by_address = seed(emails)
        seed_seconds = time.monotonic() - t
        ids = sorted(by_address.values())
        blocks = [ids[r::rounds] for r in range(rounds)]
        _procs.close_db()

        worker = _procs.start(
            worker_args(queue, node, concurrency), env=_procs.bench_env(database_url, redis_url, **extra), log_path=log_path
        )
        wait_ready(worker, log_path)
        sampler = PeakSampler(worker.pid)
        sampler.sample()
        local_hostname = DNS_NAME.get_fqdn()  # what Django's backend says in EHLO

        celery_messages, late = [], 0
        celery_seconds = plain_seconds = sweep_seconds = 0.0
        sweeps = claimed = plain_sent = plain_arrived = 0
        per_round = {"celery": [], "smtplib": []}
        overall_deadline = time.monotonic() + timeout
        stalled = False
        for block in blocks:
            # --- Celery: make the block due, sweep until nothing is due, await the sink.
            make_due(block)
            _procs.close_db()
            started = time.monotonic()
            while True:
                sweeps += 1
                n = dispatch_due_invitations()
                claimed += n
                if n == 0 or sweeps > emails:
                    break
            sweep_seconds += time.monotonic() - started
            # Bounded: the overall timeout, or STALL seconds with no new email.
            seen, seen_at = -1, time.monotonic()
            sampled_at = 0.0
            while sink.count.value < len(block) and time.monotonic() < overall_deadline:
                if sink.count.value != seen:
                    seen, seen_at = sink.count.value, time.monotonic()
                elif time.monotonic() - seen_at > STALL:
                    stalled = True
                    break
                if time.monotonic() - sampled_at > SAMPLE_EVERY:
                    sampler.sample()
                    sampled_at = time.monotonic()
                time.sleep(0.05)
            round_seconds = (sink.last_at.value if sink.count.value else time.monotonic()) - started
            got = sink.take()
            celery_seconds += round_seconds
            per_round["celery"].append(round(len(got) / round_seconds, 1) if round_seconds > 0 else None)
            celery_messages += got
            sampler.sample()
            if stalled:
                break
            # --- smtplib: the same bytes, to the same sink, a connection per batch.
            seconds = smtplib_batched(sink.port, got, local_hostname, settings.SURVEY_SEND_BATCH)
            sink.wait_for(len(got), timeout=60)
            plain = sink.take()
            plain_seconds += seconds
            plain_sent += len(got)
            plain_arrived += sum(1 for m in plain if m[0] == PLAIN_SENDER)
            per_round["smtplib"].append(round(len(got) / seconds, 1) if seconds > 0 else None)
            # A Celery email that turned up late (a duplicate, say) is still Celery's.
            celery_messages += [m for m in plain if m[0] != PLAIN_SENDER]
            late += sum(1 for m in plain if m[0] != PLAIN_SENDER)

        # Anything arriving after the last round still counts: give it a moment.
        time.sleep(2)
        sampler.sample()
        extra_msgs = sink.take()
        celery_messages += extra_msgs
        late += len(extra_msgs)
        main_peak = sampler.peaks.get(worker.pid)
        _procs.stop(worker, timeout=20)
        worker = None

        # For scale only: the whole lot over one connection, and one connection each.
        one_conn_seconds = smtplib_one_connection(sink.port, celery_messages, local_hostname)
        one_conn_arrived = sink.wait_for(len(celery_messages), timeout=60)
        sink.take()
        per_message_seconds = smtplib_per_message(sink.port, celery_messages, local_hostname)
        sink.wait_for(len(celery_messages), timeout=60)
        sink.take()

        status_counts = dict(collections.Counter(SurveyInvitation.objects.values_list("status", flat=True)))
        retried = SurveyInvitation.objects.filter(attempts__gt=1).count()
        digests = dict(SurveyInvitation.objects.filter(status="sent").values_list("client__email", "token_hash"))
        _procs.close_db()

        delivery = count_delivery(by_address, (r for _, rcpts, _ in celery_messages for r in rcpts))
        links = link_digests(celery_messages)
        links_valid = sum(1 for address, digest in links.items() if digest and digests.get(address) == digest)

        arrived = len(celery_messages)
        celery_rate = arrived / celery_seconds if celery_seconds > 0 else 0.0
        plain_rate = plain_sent / plain_seconds if plain_seconds > 0 else 0.0
        result.update(
            celery_emails_per_s=round(celery_rate, 1),
            smtplib_emails_per_s=round(plain_rate, 1),
            ratio=round(celery_rate / plain_rate, 3) if plain_rate else None,
            lost=delivery["lost"],
            duplicates=delivery["duplicates"],
            celery_worker_peak_rss_mb=sampler.worst,
            target_ratio=0.5,
            target_celery_worker_rss_mb=200,
            emails_arrived=arrived,
            unexpected=delivery["unexpected"],
            late_arrivals=late,
            stalled=stalled,
            links_opening_their_invitation=links_valid,
            invitation_status=status_counts,
            invitations_retried=retried,
            rounds=rounds,
            per_round_emails_per_s=per_round,
            sweeps=sweeps,
            claimed=claimed,
            sweep_seconds=round(sweep_seconds, 2),
            celery_seconds=round(celery_seconds, 2),
            smtplib=f"one connection per {settings.SURVEY_SEND_BATCH} messages (SURVEY_SEND_BATCH), as a send task reuses one",
            send_batch=settings.SURVEY_SEND_BATCH,
            smtplib_per_message_emails_per_s=round(arrived / per_message_seconds, 1) if per_message_seconds else None,
            smtplib_seconds=round(plain_seconds, 2),
            smtplib_arrived=plain_arrived,
            smtplib_one_connection_emails_per_s=round(arrived / one_conn_seconds, 1) if one_conn_seconds else None,
            smtplib_one_connection_arrived=one_conn_arrived,
            celery_worker_main_peak_rss_mb=main_peak,
            celery_worker_peak_rss_mb_each=sorted(sampler.peaks.values(), reverse=True),
            celery_processes_seen=len(sampler.peaks),
            concurrency=concurrency,
            worker=" ".join(worker_args(queue, node, concurrency)[1:]),
            dispatch_batch=settings.SURVEY_DISPATCH_BATCH,
            seed_seconds=round(seed_seconds, 1),
            cpu_count=os.cpu_count(),
        )
    finally:
        _procs.stop(worker, timeout=20)
        if sink is not None:
            sink.close()
        try:
            result["redis_keys_removed"] = redis_cleanup(redis_url, queue, node)
        except Exception as exc:  # noqa: BLE001 - cleanup must not hide the run's own error
            result["redis_cleanup_error"] = repr(exc)
    _procs.write_json(out, result)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.dispatch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL database to drop and create again")
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or _procs.DEFAULT_REDIS_URL)
    parser.add_argument("--emails", type=int, default=10_000)
    # docker-compose.yml's worker default (WORKER_CONCURRENCY): sending is mostly waiting
    # on SMTP and on commits, so a worker runs more processes than cores.
    parser.add_argument("--concurrency", type=int, default=4, help="Celery prefork processes (compose's default)")
    parser.add_argument("--rounds", type=int, default=4, help="Celery/smtplib turns, a block of emails each")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for every email, in all")
    args = parser.parse_args(argv)
    r = run(
        database_url=args.database_url, out=args.out, redis_url=args.redis_url, emails=args.emails,
        concurrency=args.concurrency, rounds=args.rounds, timeout=args.timeout,
    )
    print(
        f"Celery {r['celery_emails_per_s']} emails/s, smtplib {r['smtplib_emails_per_s']} emails/s, ratio {r['ratio']} "
        f"(target ≥ 0.5); lost {r['lost']}, duplicates {r['duplicates']}; Celery worker peak RSS "
        f"{r['celery_worker_peak_rss_mb']} MB (target < 200)"
    )


if __name__ == "__main__":
    main()
