"""The comparison view for the check-in benchmark (bench/throughput.py): the least a
Django view in this project can do for a form page — a GET that reads one row, a POST
that parses the body, inserts one row and answers — behind the same middleware as every
other page. Mounted only by bench/urls.py, which only config.settings.bench uses."""

from django.db import connection
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

TABLE = "bench_minimal_row"


def ensure_table():
    """Create the view's one table if it is missing. It belongs to no model and no
    migration: it exists only in bench databases (and in tests that call this)."""
    if connection.vendor == "postgresql":
        ddl = f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, value varchar(100) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
    else:
        ddl = f"CREATE TABLE IF NOT EXISTS {TABLE} (id integer PRIMARY KEY AUTOINCREMENT, value varchar(100) NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    with connection.cursor() as cursor:
        cursor.execute(ddl)


def row_count():
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        return cursor.fetchone()[0]


# No CSRF check, like the survey POST it is compared with (alliance/checkins/views.py).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def minimal(request):
    if request.method == "GET":
        # The check-in GET's counterpart: one indexed SELECT, a few bytes back.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id, value FROM {TABLE} ORDER BY id DESC LIMIT 1")
            row = cursor.fetchone()
        return HttpResponse(row[1] if row else "", content_type="text/plain")
    value = request.POST.get("value", "")
    if not value or len(value) > 100:
        return HttpResponseBadRequest()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} (value) VALUES (%s)", [value])
    return HttpResponse(status=204)
