"""The link pages' one statement (config/prepared.py `fetchone`) skips Django's
`SELECT 1` health check and is its own: a kept connection that the server dropped is
replaced and the statement runs again, so the client sees the page, not an error."""

import pytest
from django.db import connection, connections

from config import prepared

pytestmark = pytest.mark.django_db(transaction=True)


def _kill_backend(pid):
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def test_a_statement_on_a_connection_the_server_dropped_runs_again_on_a_new_one(require_postgres, settings):
    settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    connection.health_check_enabled = True
    assert prepared.fetchone("rapport_test_one", "SELECT %s::int + 1", [1]) == (2,)
    before = connection.connection.info.backend_pid
    _kill_backend(before)
    # As at the start of a request on a kept connection: the health check is due.
    connection.health_check_done = False
    assert prepared.fetchone("rapport_test_one", "SELECT %s::int + 1", [41]) == (42,)
    assert connection.connection.info.backend_pid != before


def test_a_statement_that_fails_on_a_live_connection_is_not_run_twice(require_postgres):
    from django.db import ProgrammingError

    prepared.fetchone("rapport_test_ok", "SELECT 1", [])
    pid = connection.connection.info.backend_pid
    with pytest.raises(ProgrammingError):
        prepared.fetchone("rapport_test_bad", "SELECT * FROM no_such_table WHERE 1 = %s", [1])
    assert connection.connection.info.backend_pid == pid
