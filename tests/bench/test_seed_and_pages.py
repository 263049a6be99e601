"""`make bench`'s seeding, at a tiny scale, in the test database: the rows are all
there and consistent with what the app would have stored (the flags above all), and the
caseload and the clinic dashboard show the seeded figures. Needs PostgreSQL (the seed
is PostgreSQL SQL); skips on a laptop without it, fails under CI=true."""

import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from alliance.flags.rules import flags_recompute_for_client
from alliance.models import CheckIn, Flag, SurveyInvitation
from bench import pages
from bench.seed import NOTE_TEXTS, Size, dashboard_figures, seed_data
from clients.models import Client
from sessions.models import Session, SessionNote

TINY = Size("tiny", therapists=3, clients_per_therapist=12, sessions_per_client=20)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(require_postgres):
    result = seed_data(TINY, log=lambda *a: None)
    # As bench.seed.seed does after inserting: the dashboard's kept figures.
    dashboard_figures(result["clinic_id"], log=lambda *a: None)
    return result


def scalar(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else row[0]


def test_seed_inserts_every_row_it_reports(seeded):
    counts, clinic_id = seeded["counts"], seeded["clinic_id"]
    assert counts["clients_client"] == Client.objects.filter(clinic_id=clinic_id).count() == TINY.clients
    active = Client.objects.filter(clinic_id=clinic_id, status="active").count()
    assert counts["sessions_booked"] == active > 0
    sessions = Session.objects.filter(client__clinic_id=clinic_id)
    assert counts["therapy_sessions_session"] == sessions.count() == TINY.sessions + active
    assert counts["accounts_user"] == User.objects.filter(clinic_id=clinic_id).count() == TINY.therapists + 1
    assert User.objects.filter(clinic_id=clinic_id, role=User.Role.CLINIC_ADMIN).count() == 1
    for therapist in User.objects.filter(clinic_id=clinic_id, role=User.Role.THERAPIST):
        assert therapist.clients.count() == TINY.clients_per_therapist
    for client in Client.objects.filter(clinic_id=clinic_id):
        booked = 1 if client.is_active else 0
        assert client.sessions.count() == TINY.sessions_per_client + booked
        assert client.sessions.filter(attendance="booked").count() == booked
        assert all(s.therapist_id == client.therapist_id for s in client.sessions.all())
    assert counts["checkins"] == CheckIn.objects.filter(client__clinic_id=clinic_id).count()
    assert counts["alliance_surveyinvitation"] == SurveyInvitation.objects.filter(client__clinic_id=clinic_id).count()
    assert counts["therapy_sessions_sessionnote"] == SessionNote.objects.count() > 0
    assert counts["alliance_flag"] == Flag.objects.filter(client__clinic_id=clinic_id).count()


def test_seeded_rows_hang_together(seeded):
    sessions = Session.objects.filter(client__clinic_id=seeded["clinic_id"])
    # Held sessions are all in the past; each active client's next one is booked, ahead.
    booked = sessions.filter(attendance=Session.Attendance.BOOKED)
    assert set(sessions.filter(scheduled_start__gt=timezone.now())) == set(booked)
    assert set(booked.values_list("client_id", flat=True)) == set(
        Client.objects.filter(clinic_id=seeded["clinic_id"], status="active").values_list("id", flat=True)
    )
    assert not CheckIn.objects.filter(session__in=booked).exists()
    assert not SurveyInvitation.objects.filter(session__in=booked).exists()
    attended = sessions.filter(attendance=Session.Attendance.ATTENDED)
    # The therapist rates every attended session, and only those.
    assert CheckIn.objects.filter(source="therapist").count() == attended.count()
    assert not CheckIn.objects.filter(source="therapist").exclude(session__attendance="attended").exists()
    # An invitation for each attended session of a consenting client, in a final state
    # (or still sent and not yet expired); a client check-in exactly for the answered ones.
    S = SurveyInvitation.Status
    invited = attended.filter(client__survey_consent=True)
    assert SurveyInvitation.objects.count() == invited.count()
    assert set(SurveyInvitation.objects.values_list("status", flat=True)) <= {S.ANSWERED, S.EXPIRED, S.FAILED, S.SENT}
    assert not SurveyInvitation.objects.filter(status=S.SENT, expires_at__lte=timezone.now()).exists()
    answered = SurveyInvitation.objects.filter(status=S.ANSWERED)
    assert answered.count() > SurveyInvitation.objects.count() / 2
    assert set(CheckIn.objects.filter(source="client").values_list("session_id", flat=True)) == set(
        answered.values_list("session_id", flat=True)
    )
    assert scalar("SELECT count(*) FROM alliance_checkin c JOIN therapy_sessions_session s ON s.id = c.session_id "
                  "WHERE c.client_id <> s.client_id") == 0
    # Notes are encrypted the app's way and readable only through it; authored by the
    # session's therapist.
    for note in SessionNote.objects.select_related("session")[:20]:
        assert note.ciphertext.startswith("gAAAA")
        assert note.text in NOTE_TEXTS
        assert note.author_id == note.session.therapist_id


def test_seeded_flags_are_what_the_app_computes(seeded):
    """Recomputing every client's flags the app's way changes nothing: the open flags,
    their sessions and details are exactly what alliance.flags.rules finds now."""
    clients = list(Client.objects.filter(clinic_id=seeded["clinic_id"]))
    open_before = set(Flag.objects.filter(resolved_at__isnull=True).values_list("id", "kind", "session_id", "detail"))
    for client in clients:
        raised, resolved = flags_recompute_for_client(client=client)
        assert (raised, resolved) == ([], []), client.pk
    assert set(Flag.objects.filter(resolved_at__isnull=True).values_list("id", "kind", "session_id", "detail")) == open_before
    # Enough variety for the pages to have something to show.
    assert Flag.objects.filter(resolved_at__isnull=True).exists()
    assert Flag.objects.filter(resolved_at__isnull=False).exists()
    assert Flag.objects.filter(acknowledged_at__isnull=False).exists()
    # Discharged clients have no open flag; acknowledgements come from the therapist.
    assert not Flag.objects.filter(resolved_at__isnull=True, client__status="discharged").exists()
    for flag in Flag.objects.filter(acknowledged_at__isnull=False).select_related("client"):
        assert flag.acknowledged_by_id == flag.client.therapist_id
        assert flag.raised_at <= flag.acknowledged_at <= (flag.resolved_at or timezone.now())
        assert flag.severity == Flag.SEVERITY[flag.kind]


def test_seed_is_deterministic(seeded):
    """A second seed of the same size draws the same data (ids shifted, dates the same)."""
    def fingerprint(clinic_id):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.display_name, c.modality, c.status, s.scheduled_start, s.attendance, ck.source, ck.total "
                "FROM clients_client c JOIN therapy_sessions_session s ON s.client_id = c.id "
                "LEFT JOIN alliance_checkin ck ON ck.session_id = s.id WHERE c.clinic_id = %s "
                "ORDER BY c.id, s.scheduled_start, ck.source", [clinic_id])
            return cursor.fetchall()

    again = seed_data(TINY, now=datetime.fromisoformat(seeded["anchor"]), log=lambda *a: None)
    assert fingerprint(again["clinic_id"]) == fingerprint(seeded["clinic_id"])
    assert again["counts"] == seeded["counts"]


def _row(html, client_id):
    """The caseload table row of one client."""
    link = f'href="{reverse("client_detail", args=[client_id])}"'
    start = html.index(link)
    return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]


def test_caseload_page_shows_the_seeded_figures(seeded, client, login):
    clinic_id = seeded["clinic_id"]
    therapist = User.objects.filter(clinic_id=clinic_id, role="therapist").order_by("id").first()
    login(client, therapist)
    html = client.get(reverse("caseload")).content.decode()

    active = list(Client.objects.filter(therapist=therapist, status="active").order_by("display_name", "id"))
    assert f"{len(active)} client{'s' if len(active) != 1 else ''}." in html
    for c in active[:25]:
        row = _row(html, c.id)
        latest = scalar(
            "SELECT ck.total FROM alliance_checkin ck JOIN therapy_sessions_session s ON s.id = ck.session_id "
            "WHERE ck.client_id = %s AND ck.source = 'client' ORDER BY s.scheduled_start DESC LIMIT 1", [c.id])
        if latest is not None:
            assert f'{latest}<span class="text-body-secondary">/40' in row
        # The last session is the latest held one; the next, the booked one.
        tz = c.clinic.tzinfo
        held = c.sessions.exclude(attendance="booked").latest("scheduled_start").scheduled_start
        booked = c.sessions.get(attendance="booked").scheduled_start
        assert f"<td data-label=\"Last session\">{timezone.localtime(held, tz):%-d %b %Y}" in row
        assert f"<td data-label=\"Next session\">{timezone.localtime(booked, tz):%-d %b %Y, %H:%M}</td>" in row
        assert "Needs attendance recorded" not in row
        kinds = Flag.objects.filter(client=c, resolved_at__isnull=True)
        if kinds:
            assert f'text-bg-danger">{kinds.count()}</span>' in row
            for flag in kinds:
                assert flag.get_kind_display() in row
        else:
            assert ">none<" in row


def test_clinic_dashboard_shows_the_seeded_figures(seeded, client, login):
    clinic_id = seeded["clinic_id"]
    admin = User.objects.get(clinic_id=clinic_id, role="clinic_admin")
    login(client, admin)
    html = client.get(reverse("clinic_dashboard")).content.decode()

    active = Client.objects.filter(clinic_id=clinic_id, status="active").count()
    flagged = (Flag.objects.filter(client__clinic_id=clinic_id, client__status="active", resolved_at__isnull=True)
               .values("client_id").distinct().count())
    footer = html[html.index("<tfoot>"):html.index("</tfoot>")]
    assert f'<td class="text-end" data-label="Active caseload">{active}</td>' in footer
    assert f"({flagged})" in footer

    # The distribution of client totals over the default range (the last 182 days, in
    # the clinic's time zone), counted here straight from the rows.
    clinic = admin.clinic
    today = timezone.localdate(timezone=clinic.tzinfo)
    start = timezone.make_aware(datetime.combine(today - timedelta(days=182), time.min), clinic.tzinfo)
    end = timezone.make_aware(datetime.combine(today + timedelta(days=1), time.min), clinic.tzinfo)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ck.total FROM alliance_checkin ck JOIN therapy_sessions_session s ON s.id = ck.session_id "
            "JOIN clients_client c ON c.id = ck.client_id WHERE c.clinic_id = %s AND ck.source = 'client' "
            "AND s.scheduled_start >= %s AND s.scheduled_start < %s", [clinic_id, start, end])
        totals = [t for (t,) in cursor.fetchall()]
    assert totals
    for lo, hi in [(0, 15), (16, 19), (20, 23), (24, 27), (28, 31), (32, 35), (36, 40)]:
        n = sum(lo <= t <= hi for t in totals)
        row = rf'<th scope="row">{lo}–{hi}</th><td class="text-end" data-label="Check-ins">{n}</td>'
        assert re.search(row, html), (lo, hi, n)


def test_page_measurement_counts_queries_and_replays_the_page_sql(seeded):
    result = pages.run(samples=2, warmup=1, clinic_id=seeded["clinic_id"])
    for page in ("caseload", "dashboard"):
        r = result[page]
        assert r["queries"] == r["bare_sql_queries"] + len(r["excluded_queries"])
        assert r["bare_sql_queries"] >= 4
        assert "SELECT django_session" in r["excluded_queries"]
        assert all(not pages.is_framework(sql) for sql in r["bare_sql"])
        assert r["median_ms"] > 0 and r["bare_sql_median_ms"] > 0
