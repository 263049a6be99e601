"""Server-side prepared statements for the few statements on a client's hot path.

psycopg2 sends every statement as text, so PostgreSQL plans it again on each run. For
the check-in's lookup and its one-statement answer (alliance/checkins/services.py),
planning cost more than executing: about a millisecond of the server's time on every
request. Here such a statement is PREPAREd once per database connection, in the same
round trip as its first EXECUTE, and EXECUTEd after that; the server keeps the plan
(its generic plan once it has seen a few). Elsewhere (SQLite) the statement runs as is.

A prepared statement lives as long as its connection: a new connection (CONN_MAX_AGE,
a reconnect after an error) prepares again. It does not survive a transaction-pooling
proxy such as PgBouncer in transaction mode; with one, set PREPARED_STATEMENTS = False.
"""

import re

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

_PLACEHOLDER = re.compile(r"%s")


def execute(cursor, name, sql, params):
    """Run `sql` (with %s placeholders) with `params` on `cursor` as the prepared
    statement `name`."""
    if connection.vendor != "postgresql" or not getattr(settings, "PREPARED_STATEMENTS", True):
        cursor.execute(sql, params)
        return
    raw = connection.connection
    state = getattr(connection, "_rapport_prepared", None)
    if state is None or state[0] is not raw:
        state = connection._rapport_prepared = (raw, set())
    arguments = ", ".join(["%s"] * len(params))
    run = f"EXECUTE {name} ({arguments})" if params else f"EXECUTE {name}"
    if name in state[1]:
        cursor.execute(run, params)
        return
    counter = iter(range(1, len(params) + 1))
    numbered = _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)
    # One round trip: the PREPARE, then its first run (whose result the cursor keeps).
    cursor.execute(f"PREPARE {name} AS {numbered}; {run}", params)
    state[1].add(name)


def fetchone(name, sql, params):
    """Run the prepared statement `name` (as `execute`) on a cursor of its own and
    return its first row, without the health check's round trip.

    With CONN_HEALTH_CHECKS, Django sends `SELECT 1` before the first statement of a
    request on a kept connection: one more round trip than a link page's whole work,
    which is this one statement. Here the statement is its own health check: if the
    kept connection turns out dead (the server restarted, a proxy closed it), it is
    closed and the statement runs once more on a new one. A connection dies between
    statements, as a rule; had it died while this one ran, the statement may have
    committed, and its second run then finds the link used (the client sees the
    "no longer works" page, not an error). Never inside a transaction, which a new
    connection would not continue."""
    reused = connection.connection is not None and not connection.in_atomic_block
    if reused and connection.health_check_enabled:
        connection.health_check_done = True
    try:
        with connection.cursor() as cursor:
            execute(cursor, name, sql, params)
            return cursor.fetchone()
    except (OperationalError, InterfaceError):
        if not reused or connection.is_usable():
            raise  # the statement failed, not the connection
        connection.close()
        with connection.cursor() as cursor:
            execute(cursor, name, sql, params)
            return cursor.fetchone()
