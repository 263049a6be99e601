"""Real services for tests that need them, shared by tests/alliance (the outbox) and
tests/e2e (the journeys in a browser): an SMTP server (aiosmtpd) in this process and
Celery worker subprocesses on this run's own queue, pointed at this run's test
database. Nothing is mocked: a test passes only if an email really crossed SMTP.

The fixtures (`smtp_server`, `celery_worker`) are made available to a folder's tests by
importing them into its conftest.py or test module."""

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
DEADLINE = 60  # seconds; every wait in these tests is bounded by this

# aiosmtpd logs every SMTP command at INFO.
logging.getLogger("mail.log").setLevel(logging.WARNING)


def wait_for(predicate, *, timeout=DEADLINE, interval=0.2, what="condition"):
    """Poll until predicate() is truthy; fail the test after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP -----------------------------------------------------------------------------


class CollectingHandler:
    """Accepts every message and keeps it; `fail_first` answers 451 to that many DATA
    commands first, as a mail server under load does."""

    def __init__(self, fail_first=0):
        self.fail_first = fail_first
        self.refused = 0
        self.messages = []
        self.sessions = {}  # id → the SMTP sessions (connections) that delivered a message, kept alive so ids stay unique
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.sessions[id(session)] = session
            if self.refused < self.fail_first:
                self.refused += 1
                return "451 4.3.0 Try again later"
            self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def received(self):
        with self.lock:
            return list(self.messages)


class SMTPServer:
    def __init__(self, handler):
        self.handler = handler
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def received(self):
        return self.handler.received()

    def wait_for_count(self, n, timeout=DEADLINE):
        return wait_for(lambda: len(self.received()) >= n and self.received(), timeout=timeout, what=f"{n} emails")


@pytest.fixture
def smtp_server():
    """Start an SMTP server; call with fail_first=N for one that refuses N times."""
    servers = []

    def start(fail_first=0):
        server = SMTPServer(CollectingHandler(fail_first=fail_first))
        server.controller.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.controller.stop()


# --- Celery workers ------------------------------------------------------------------------


class Worker:
    def __init__(self, process, log_path):
        self.process = process
        self.log_path = log_path

    def kill(self):
        """SIGKILL the worker and its pool processes at once, as a crash or the OOM
        killer would: no warm shutdown, no acknowledgements."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self):
        # By teardown the test has seen what it waited for; a warm shutdown would only
        # add seconds.
        self.kill()

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def purge_queue():
    from config.celery_app import app

    with app.connection_for_write() as conn:
        try:
            conn.default_channel.queue_purge(settings.CELERY_TASK_DEFAULT_QUEUE)
        except Exception as exc:  # noqa: BLE001 - a queue that does not exist yet is empty
            print(f"purge of {settings.CELERY_TASK_DEFAULT_QUEUE}: {exc!r}")


def forget_queue_in_redis():
    """Remove this run's queue from Redis, including the messages a killed worker left
    unacknowledged, which kombu would otherwise put back into it hours later."""
    if not settings.REDIS_URL:
        return
    import json

    import redis

    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    r = redis.Redis.from_url(settings.REDIS_URL)
    for tag, raw in r.hgetall("unacked").items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError):
            continue
        if routing_key == queue:
            r.hdel("unacked", tag)
            r.zrem("unacked_index", tag)
    r.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.fixture
def celery_worker(tmp_path):
    """Start real `celery worker` subprocesses (prefork, 2 processes) on this run's
    queue, against this run's test database and the given SMTP server. Needs a
    `django_db(transaction=True)` test, or the worker cannot see the test's data.
    `env` adds to the worker's environment, e.g. {"SITE_URL": live_server.url} so the
    links it emails open the live server. `beat=True` runs beat inside the worker
    (celery's -B), with its schedule file in the test's temporary folder, for the
    behaviour that beat's sweeps carry (a client's flags after an answer)."""
    workers = []
    purge_queue()

    def start(smtp, *, concurrency=2, name=None, env=None, beat=False):
        name = name or f"w{len(workers) + 1}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "RAPPORT_TEST_RUN_ID": os.environ["RAPPORT_TEST_RUN_ID"],
            "RAPPORT_TEST_DB_NAME": str(settings.DATABASES["default"]["NAME"]),
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "EMAIL_URL": smtp.url,
            "TEST_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log_path = tmp_path / f"celery-{name}.log"
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "celery"), "-A", "config", "worker",
                "--pool=prefork", "-c", str(concurrency), "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
                "-n", f"{name}-{os.environ['RAPPORT_TEST_RUN_ID']}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO",
                *(["-B", "-s", str(tmp_path / f"beat-{name}")] if beat else []),
            ],
            cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() reaches the pool too
        )
        worker = Worker(process, log_path)
        workers.append(worker)
        wait_for(
            lambda: " ready." in worker.log() or process.poll() is not None, timeout=30, what="the worker to start"
        )
        if process.poll() is not None:
            pytest.fail(f"celery worker exited:\n{worker.log()[-3000:]}")
        return worker

    yield start
    for worker in workers:
        worker.stop()
    purge_queue()
    forget_queue_in_redis()


# --- `make run`'s web server ----------------------------------------------------------------


def _database_url():
    """This run's test database as a DATABASE_URL, for a server started with settings
    that read only that (config.settings.local)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class LocalServer:
    def __init__(self, url, log_path):
        self.url = url
        self.log_path = log_path

    def log(self):
        """What the server printed: its access log (django.server) and everything else."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def local_server(tmp_path):
    """`manage.py runserver` under config.settings.local, as Procfile.dev starts it for
    `make run`, against this run's test database (so a `django_db(transaction=True)`
    test's data is there). Yields a LocalServer: its base URL and its log."""
    import urllib.request

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RAPPORT_TEST_DB_NAME", "DEBUG"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", DATABASE_URL=_database_url(), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "runserver.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
    )
    server = LocalServer(f"http://127.0.0.1:{port}", log_path)

    def answers():
        if process.poll() is not None:
            pytest.fail(f"runserver exited:\n{server.log()[-3000:]}")
        try:
            urllib.request.urlopen(server.url + "/accounts/login/", timeout=2)
            return True
        except OSError:
            return False

    try:
        wait_for(answers, timeout=60, what="runserver under the local settings")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- Emails ----------------------------------------------------------------------------------


def links_in(message, site=None):
    """(check-in link, unsubscribe link) of a received email, from its text part. `site`
    is the address the sender put in links (settings.SITE_URL unless given)."""
    import re

    text = message.get_body(preferencelist=("plain",)).get_content()
    site = re.escape((site or settings.SITE_URL).rstrip("/"))
    checkin = re.search(site + r"/s/([A-Za-z0-9_-]+)/(?=\s)", text)
    unsubscribe = re.search(site + r"/s/([A-Za-z0-9_-]+)/unsubscribe/", text)
    return (checkin.group(0) if checkin else None), (unsubscribe.group(0) if unsubscribe else None)


# --- SMS ---------------------------------------------------------------------------------


@pytest.fixture
def fake_twilio(settings):
    """A fake Twilio on loopback (tests/fakes/twilio.py), with this process's SMS_URL
    pointed at it. Give `fake_twilio.url` to a worker as its SMS_URL."""
    from tests.fakes.twilio import FakeTwilio

    fake = FakeTwilio().start()
    settings.SMS_URL = fake.url
    settings.SMS_ENABLED = True
    yield fake
    fake.stop()
