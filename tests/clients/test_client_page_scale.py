"""The client page holds a fixed amount however long the client's history: a page of
sessions, a year of points in the charts, the latest comments. Its query count is the
same at 8 sessions and at 120, so its cost follows the page, not the history."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn
from clients.selectors import CHART_POINTS, COMMENTS_SHOWN, SESSIONS_PER_PAGE
from sessions.models import Session
from tests.alliance.history import scores
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def _weekly(client, n, *, comment_every=0):
    """n attended weekly sessions ending yesterday, each rated by both sides, in bulk."""
    now = timezone.now()
    sessions = Session.objects.bulk_create(
        Session(client=client, therapist=client.therapist, scheduled_start=now - timedelta(days=1 + 7 * (n - 1 - i)),
                duration_minutes=50, attendance=Session.Attendance.ATTENDED, format="in_person")
        for i in range(n)
    )
    CheckIn.objects.bulk_create(
        CheckIn(session=s, client=client, source=source, submitted_at=s.scheduled_start + timedelta(hours=2),
                comment=f"Comment {i}" if source == "client" and comment_every and i % comment_every == 0 else "",
                **scores(30 + i % 8))
        for i, s in enumerate(sessions) for source in ("client", "therapist")
    )
    return sessions


def _page(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(queries.captured_queries)


def test_the_page_costs_the_same_queries_at_8_and_120_sessions(client, login, alice):
    short, long = ClientFactory(therapist=alice), ClientFactory(therapist=alice)
    _weekly(short, 8, comment_every=2)
    _weekly(long, 120, comment_every=2)
    login(client, alice)
    _, warm = _page(client, reverse("client_detail", args=[short.pk]))  # the session's first reads
    short_html, short_queries = _page(client, reverse("client_detail", args=[short.pk]))
    long_html, long_queries = _page(client, reverse("client_detail", args=[long.pk]))
    assert long_queries == short_queries, (short_queries, long_queries)
    rows = lambda html: len(re.findall(r'<th scope="row"><a href="/sessions/\d+/">', html))  # noqa: E731
    assert rows(short_html) == 8
    assert rows(long_html) == SESSIONS_PER_PAGE
    assert f"120 sessions; 1–{SESSIONS_PER_PAGE}, newest first." in long_html
    assert f"Page 1 of {120 // SESSIONS_PER_PAGE}" in long_html
    chart = json.loads(re.search(r'<script id="client-chart-data" type="application/json">(.*?)</script>', long_html, re.S).group(1))
    assert len(chart["labels"]) == CHART_POINTS
    assert f"The last {CHART_POINTS} rated sessions" in long_html
    assert "The last" not in short_html
    assert long_html.count("Comment ") == COMMENTS_SHOWN


def test_older_sessions_are_a_page_away(client, login, alice):
    someone = ClientFactory(therapist=alice)
    sessions = _weekly(someone, 2 * SESSIONS_PER_PAGE + 5)
    login(client, alice)
    url = reverse("client_detail", args=[someone.pk])
    first, _ = _page(client, url)
    last, _ = _page(client, url + "?page=3")
    oldest = f'href="/sessions/{sessions[0].pk}/"'
    assert oldest not in first and oldest in last
    assert "Page 3 of 3" in last and "Newer</a>" in last and "Older</a>" not in last
    # Nonsense page numbers land on a real page, not an error.
    assert "Page 3 of 3" in _page(client, url + "?page=99")[0]
    assert "Page 1 of 3" in _page(client, url + "?page=abc")[0]


def test_the_chart_keeps_the_newest_year_and_says_so(client, login, alice):
    someone = ClientFactory(therapist=alice)
    sessions = _weekly(someone, CHART_POINTS + 10)
    login(client, alice)
    html, _ = _page(client, reverse("client_detail", args=[someone.pk]))
    chart = json.loads(re.search(r'<script id="client-chart-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    # Whole points only: each shown session carries both sides.
    assert len(chart["labels"]) in (CHART_POINTS, CHART_POINTS - 1)
    assert None not in chart["series"]["total"]["client"] and None not in chart["series"]["total"]["therapist"]
    newest = timezone.localtime(sessions[-1].scheduled_start)
    assert chart["labels"][-1] == f"{newest.day} {newest:%b %Y}"


def test_the_session_page_shows_the_therapist_the_clients_comment_and_the_admin_nothing(
    client, login, alice, carol, alice_client
):
    [session] = _weekly(alice_client, 1)
    CheckIn.objects.filter(session=session, source="client").update(comment="")
    checkin_row = CheckIn.objects.get(session=session, source="client")
    checkin_row.comment = "It felt rushed at the end."
    checkin_row.save(update_fields=["comment"])
    url = reverse("session_detail", args=[session.pk])
    login(client, alice)
    assert "It felt rushed at the end." in client.get(url).content.decode()
    login(client, carol)
    html = client.get(url).content.decode()
    assert "It felt rushed" not in html and "The client's comment" not in html
