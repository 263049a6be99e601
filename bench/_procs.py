"""Plumbing shared by bench/throughput.py and bench/dispatch.py: a fresh PostgreSQL
database, Django set up on the bench settings in this process, free loopback ports,
subprocess trees (start, find the children, peak RSS, stop), and JSON output.

Everything listens on 127.0.0.1 only, and every wait here has a bound."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
# RAPPORT_BENCH_SETTINGS names another settings module (one that star-imports the bench
# settings and changes one thing), to measure what a settings change would do.
SETTINGS = os.environ.get("RAPPORT_BENCH_SETTINGS", "config.settings.bench")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


# --- Database ---------------------------------------------------------------------------


def _pg_params(database_url):
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
        raise SystemExit(f"--database-url must be a PostgreSQL URL, not {parts.scheme}://")
    name = unquote(parts.path.lstrip("/"))
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit("--database-url must name a database of its own: it is dropped and created again")
    params = dict(host=parts.hostname or "127.0.0.1", port=parts.port or 5432, user=unquote(parts.username or "postgres"))
    if parts.password:
        params["password"] = unquote(parts.password)
    return name, params


def recreate_database(database_url):
    """DROP (if it exists) and CREATE the database the URL names, through the server's
    `postgres` maintenance database. Other connections to it are ended (WITH (FORCE))."""
    import psycopg2
    from psycopg2 import sql

    name, params = _pg_params(database_url)
    conn = psycopg2.connect(dbname="postgres", connect_timeout=10, **params)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()


def bench_env(database_url, redis_url, **extra):
    """The environment of this process and of every server it starts."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS, DATABASE_URL=database_url, REDIS_URL=redis_url,
        PYTHONUNBUFFERED="1", LOG_LEVEL=env.get("LOG_LEVEL", "WARNING"),
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def django_setup(database_url, redis_url, **extra):
    """Point this process at the bench settings and the given servers, set Django up and
    migrate the (fresh) database. Must run before anything imports Django models."""
    os.environ.update(bench_env(database_url, redis_url, **extra))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    # The Celery app first, as `celery -A config` and config.wsgi do: importing it reads
    # the settings, which must not happen halfway through importing a settings module.
    import config  # noqa: F401

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def analyze():
    """Give the planner statistics for freshly bulk-loaded tables, as autovacuum would
    on a live database; without them it guesses (and may scan a whole index)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def close_db():
    """Close this process's connections before forking or starting servers."""
    from django.db import connections

    connections.close_all()


# --- Processes --------------------------------------------------------------------------


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, *, timeout, proc=None):
    """Wait until something accepts connections on 127.0.0.1:port (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def start(args, *, env, log_path):
    """Start a server in a session of its own (so its whole tree can be signalled),
    writing its output to log_path."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc._bench_log = log
    return proc


def stop(proc, *, timeout=15):
    """TERM the process group, then KILL it if it has not gone after `timeout`."""
    if proc is None:
        return
    try:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Children can outlive their parent (a pool child mid-task): end the group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    finally:
        log = getattr(proc, "_bench_log", None)
        if log is not None:
            log.close()


def children(pid):
    """Direct children of pid, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces: split after it.
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children(p))
    return out


def status_kb(pid, field):
    """A kB figure from /proc/<pid>/status (VmHWM: peak resident set; VmRSS: now)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_mb(pids):
    """{pid: peak RSS in MB} of the processes still alive."""
    out = {}
    for pid in pids:
        kb = status_kb(pid, "VmHWM")
        if kb is not None:
            out[pid] = round(kb / 1024, 1)
    return out


def write_json(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
