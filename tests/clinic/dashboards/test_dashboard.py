"""The clinic dashboard, its drill-down and exports, checked against figures worked out
by hand from a small fixed dataset."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from clinic.dashboards.figures import figures_recompute
from tests.alliance.history import checkin, invitation, note, session_on
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

NOTE_MARKER = "NOTE-MARKER-7f3a"
COMMENT_MARKER = "COMMENT-MARKER-91bd"
S = SurveyInvitation.Status


@pytest.fixture
def dataset(alice, bob, carol, alice_client, bob_client, mallory):
    """alice: J.D. (CBT, collaborative) and an unflagged second client; bob: K.L.
    (humanistic, supportive); mallory's clinic has data that must never appear.

    By hand (default range, the last 182 days):
    - alice: held 3 sessions in the last 30 days; attendance 4/(4+1) = 80%; response
      3/(3+1) = 75%; mean client total (30+36+34)/3 = 33.3; 1 of 2 clients flagged.
    - bob: held 1; attendance 1/(1+1) = 50%; response 1/1 = 100%; mean 40; 1 of 1 flagged
      (acknowledged, so no unacknowledged age).
    - clinic: mean (30+36+34+40)/4 = 35.0; response 4/5 = 80%.
    """
    now = timezone.now()
    s1 = session_on(alice_client, days_ago=20)
    checkin(s1, 30, comment=COMMENT_MARKER)
    checkin(s1, 36, source=CheckIn.Source.THERAPIST)
    invitation(s1, S.ANSWERED)
    note(s1, NOTE_MARKER)
    s2 = session_on(alice_client, days_ago=13)
    checkin(s2, 36)
    invitation(s2, S.ANSWERED)
    note(s2, NOTE_MARKER)
    session_on(alice_client, days_ago=6, attendance="no_show")
    s4 = session_on(alice_client, days_ago=5)
    invitation(s4, S.EXPIRED)
    s5 = session_on(alice_client, days_ago=40)
    checkin(s5, 34)
    invitation(s5, S.ANSWERED)
    ClientFactory(therapist=alice, display_name="M.N.")
    Flag.objects.create(client=alice_client, kind=Flag.Kind.LOW_ALLIANCE, severity=4, raised_at=now - timedelta(days=3))

    bob_client.modality, bob_client.relationship_approach = "humanistic", "supportive"
    bob_client.save()
    b1 = session_on(bob_client, days_ago=3)
    checkin(b1, 40)
    invitation(b1, S.ANSWERED)
    note(b1, NOTE_MARKER)
    session_on(bob_client, days_ago=10, attendance="late_cancel")
    Flag.objects.create(client=bob_client, kind=Flag.Kind.ATTENDANCE, severity=2, raised_at=now - timedelta(days=10),
                        acknowledged_at=now - timedelta(days=9), response="discussed", response_text=COMMENT_MARKER)
    Flag.objects.create(client=bob_client, kind=Flag.Kind.DROP, severity=5, raised_at=now - timedelta(days=8),
                        resolved_at=now - timedelta(days=2))

    elsewhere = ClientFactory(therapist=mallory, display_name="Elsewhere-Client", email="secret@elsewhere.org")
    m1 = session_on(elsewhere, days_ago=2)
    checkin(m1, 10)
    note(m1, NOTE_MARKER)
    Flag.objects.create(client=elsewhere, kind=Flag.Kind.LOW_ALLIANCE, severity=4)
    figures_from_raw_rows(alice.clinic, mallory.clinic)
    return {"alice": alice, "bob": bob}


def figures_from_raw_rows(*clinics):
    """These tests write their rows with the ORM, past the services that keep the
    dashboard's figures (clinic/dashboards/figures.py): recompute them, as a rebuild
    would. tests/clinic/dashboards/test_figures_property.py goes through the services."""
    for clinic in clinics:
        figures_recompute(clinic)


def dashboard(client, login, carol, **params):
    login(client, carol)
    figures_from_raw_rows(carol.clinic)
    return client.get(reverse("clinic_dashboard"), params)


def row(response, name):
    return next(r for r in response.context["dash"].therapists if r.name == name)


def test_it_shows_each_therapists_figures(client, login, carol, dataset):
    response = dashboard(client, login, carol)
    assert response.status_code == 200
    a, b = row(response, "Alice Therapist"), row(response, "Bob Therapist")
    assert (a.caseload, a.sessions_30d, a.attendance_rate, a.response_rate) == (2, 3, 0.8, 0.75)
    assert round(a.mean_total, 1) == 33.3 and a.flagged_share == 0.5
    assert a.oldest_unacknowledged_days(timezone.now()) == 3
    assert (b.caseload, b.sessions_30d, b.attendance_rate, b.response_rate, b.mean_total) == (1, 1, 0.5, 1.0, 40)
    assert b.flagged_share == 1.0 and b.oldest_unacknowledged is None
    html = response.content.decode()
    assert "80%" in html and "33.3" in html and "75%" in html


def test_booked_sessions_count_in_no_figure(client, login, carol, alice, dataset):
    """A booked session, past (attendance not recorded yet) or ahead, is neither held
    nor missed: every figure stays as it was, on the clinic page and the therapist's."""
    alice_client = alice.clients.get(display_name="J.D.")
    session_on(alice_client, days_ago=2, attendance="booked")
    session_on(alice_client, days_ago=-5, attendance="booked")
    a = row(dashboard(client, login, carol), "Alice Therapist")
    assert (a.caseload, a.sessions_30d, a.attendance_rate, a.response_rate) == (2, 3, 0.8, 0.75)
    rows = {r.name: r for r in client.get(reverse("clinic_therapist", args=[alice.id])).context["rows"]}
    assert (rows["J.D."].attended, rows["J.D."].missed) == (4, 1)


def test_it_shows_clinic_totals_and_defines_the_response_rate(client, login, carol, dataset):
    response = dashboard(client, login, carol)
    totals = response.context["dash"].totals
    assert totals.mean_total == 35.0 and totals.response_rate == 0.8
    assert "answered ÷ (answered + expired)" in response.content.decode()


def test_it_shows_the_clinic_over_time(client, login, carol, dataset):
    for period in ("week", "month"):
        periods = dashboard(client, login, carol, period=period).context["dash"].periods
        assert sum(p.checkins for p in periods) == 4
        assert sum(p.answered for p in periods) == 4 and sum(p.unanswered for p in periods) == 1
        assert sum(p.flags_raised for p in periods) == 3 and sum(p.flags_resolved for p in periods) == 1
        starts = [p.start for p in periods]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        if period == "week":
            assert all(s.weekday() == 0 for s in starts)
        else:
            assert all(s.day == 1 for s in starts)


def test_it_breaks_scores_down_by_modality_approach_and_total(client, login, carol, dataset):
    dash = dashboard(client, login, carol).context["dash"]
    modality = {g.key: g for g in dash.by_modality}
    assert modality["cbt"].checkins == 3 and round(modality["cbt"].mean_total, 1) == 33.3
    assert modality["cbt"].low_share == 2 / 3
    assert modality["humanistic"].mean_total == 40 and modality["psychodynamic"].mean_total is None
    approach = {g.key: g for g in dash.by_approach}
    assert approach["collaborative"].checkins == 3 and approach["supportive"].checkins == 1
    assert dict(dash.histogram) == {"0–15": 0, "16–19": 0, "20–23": 0, "24–27": 0, "28–31": 1, "32–35": 1, "36–40": 2}


def test_it_filters_by_therapist_modality_and_dates(client, login, carol, dataset):
    alice = dataset["alice"]
    dash = dashboard(client, login, carol, therapist=alice.id).context["dash"]
    assert [r.name for r in dash.therapists] == ["Alice Therapist"] and dash.totals.checkins == 3
    dash = dashboard(client, login, carol, modality="humanistic").context["dash"]
    assert dash.totals.checkins == 1 and dash.totals.mean_total == 40
    today = timezone.localdate()
    dash = dashboard(client, login, carol, date_from=(today - timedelta(days=15)).isoformat(),
                     date_to=today.isoformat()).context["dash"]
    assert dash.totals.checkins == 2  # 36 (13 days ago) and 40 (3 days ago)


@pytest.mark.parametrize(("params", "message"), [
    ({"date_from": "2026-02-30"}, b"Enter a valid date"),
    ({"date_from": "yesterday"}, b"Enter a valid date"),
    ({"date_from": "2026-05-01", "date_to": "2026-04-01"}, b"start date must be on or before the end date"),
    ({"modality": "astrology"}, b"Select a valid choice"),
    ({"therapist": "999999"}, b"Select a valid choice"),
    # Found by the form fuzzer: values that used to overflow the database or date maths.
    ({"therapist": str(2**70)}, b"less than or equal to"),
    ({"date_to": "0001-01-01"}, b"Enter a date between 1900 and 2200"),
    ({"date_from": "9999-12-31"}, b"Enter a date between 1900 and 2200"),
])
def test_it_answers_400_with_a_message_for_bad_filters(client, login, carol, dataset, params, message):
    response = dashboard(client, login, carol, **params)
    assert response.status_code == 400
    assert message in response.content


def test_it_refuses_another_clinics_therapist_as_a_filter(client, login, carol, dataset, mallory):
    assert dashboard(client, login, carol, therapist=mallory.id).status_code == 400


def test_it_shows_one_therapists_caseload_without_notes(client, login, carol, dataset, alice):
    login(client, carol)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("clinic_therapist", args=[alice.id]))
    assert response.status_code == 200
    rows = {r.name: r for r in response.context["rows"]}
    assert rows["J.D."].latest_total == 36 and round(rows["J.D."].mean_total, 1) == 33.3
    assert rows["J.D."].open_flags == ["Low alliance"] and rows["M.N."].checkins == 0
    assert not [q for q in queries.captured_queries if "sessionnote" in q["sql"].lower()]


def test_it_answers_404_for_a_therapist_of_another_clinic(client, login, carol, mallory, dataset):
    login(client, carol)
    assert client.get(reverse("clinic_therapist", args=[mallory.id])).status_code == 404
    admin_elsewhere = UserFactory(clinic=mallory.clinic, role="clinic_admin")
    login(client, admin_elsewhere)
    assert client.get(reverse("clinic_therapist", args=[dataset["alice"].id])).status_code == 404


@pytest.mark.parametrize("who", ["alice", "mallory"])
@pytest.mark.parametrize("url", [
    lambda d: reverse("clinic_dashboard"),
    lambda d: reverse("clinic_therapist", args=[d["alice"].id]),
    lambda d: reverse("dashboard_export", args=["therapists"]),
])
def test_it_forbids_dashboards_to_therapists(client, login, dataset, who, url, request):
    login(client, request.getfixturevalue(who))
    assert client.get(url(dataset)).status_code == 403


def all_pages(dataset):
    alice = dataset["alice"]
    yield reverse("clinic_dashboard")
    yield reverse("clinic_dashboard") + "?period=month"
    yield reverse("clinic_therapist", args=[alice.id])
    for table in ("therapists", "over_time", "modality", "approach", "distribution"):
        yield reverse("dashboard_export", args=[table])
    yield reverse("dashboard_export", args=["caseload"]) + f"?therapist={alice.id}"


def test_it_never_shows_notes_comments_emails_or_other_clinics_on_any_page_or_export(client, login, carol, dataset):
    login(client, carol)
    for url in all_pages(dataset):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for secret in (NOTE_MARKER, COMMENT_MARKER, "Elsewhere", "@example.org", "secret@elsewhere.org"):
            assert secret not in body, (url, secret)


def parse_csv(response):
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_it_exports_the_therapist_table_with_the_same_figures(client, login, carol, dataset):
    login(client, carol)
    rows = parse_csv(client.get(reverse("dashboard_export", args=["therapists"])))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}
    assert header[:3] == ["therapist", "active", "active_caseload"]
    assert body["Alice Therapist"]["attendance_rate"] == "0.8"
    assert body["Alice Therapist"]["response_rate"] == "0.75"
    assert body["Bob Therapist"]["mean_client_total"] == "40"
    assert body["Clinic"]["mean_client_total"] == "35"


def test_it_exports_with_the_same_filters(client, login, carol, dataset):
    login(client, carol)
    rows = parse_csv(client.get(reverse("dashboard_export", args=["therapists"]), {"modality": "humanistic"}))
    body = {r[0]: r for r in rows[1:]}
    assert body["Alice Therapist"][7] == "0"  # no humanistic check-ins for alice
    response = client.get(reverse("dashboard_export", args=["over_time"]), {"date_from": "not-a-date"})
    assert response.status_code == 400 and b"valid date" in response.content


def test_it_guards_exports_against_spreadsheet_formulas(client, login, carol, dataset, alice):
    for name in ("=HYPERLINK(1)", "+1", "-2", "@SUM(A1)"):
        ClientFactory(therapist=alice, display_name=name)
    login(client, carol)
    rows = parse_csv(client.get(reverse("dashboard_export", args=["caseload"]), {"therapist": alice.id}))
    names = {r[0] for r in rows[1:]}
    assert {"'=HYPERLINK(1)", "'+1", "'-2", "'@SUM(A1)"} <= names


def test_it_answers_404_for_an_unknown_export(client, login, carol):
    login(client, carol)
    assert client.get(reverse("dashboard_export", args=["notes"])).status_code == 404


def test_it_draws_charts_from_a_static_file_without_inline_script_or_style(client, login, carol, dataset):
    response = dashboard(client, login, carol)
    html = response.content.decode()
    assert 'id="dashboard-data" type="application/json"' in html
    assert "js/dashboard_charts.js" in html and "chart.umd.js" in html
    assert "style=" not in html
    import re

    inline = [s for s in re.findall(r"<script(?P<attrs>[^>]*)>", html) if "src=" not in s and "application/json" not in s]
    assert inline == []


def test_it_sends_a_clinic_admin_home_to_the_dashboard(client, login, carol):
    login(client, carol)
    assert client.get(reverse("home"))["Location"] == reverse("clinic_dashboard")


def test_it_records_each_export_in_the_audit_trail(client, login, carol, dataset):
    from audit.models import AuditEvent

    login(client, carol)
    client.get(reverse("dashboard_export", args=["modality"]), {"modality": "cbt"})
    event = AuditEvent.objects.get(action="dashboard.export")
    assert event.actor == carol and event.detail["table"] == "modality" and "modality=cbt" in event.detail["filters"]


def test_it_keeps_a_deactivated_therapists_past_sessions_under_their_name(client, login, carol, dataset, bob, alice):
    from accounts.services import clients_reassign, staff_deactivate

    clients_reassign(from_therapist=bob, to_therapist=alice, by=carol)
    staff_deactivate(user=bob, by=carol)
    response = dashboard(client, login, carol)
    b = row(response, "Bob Therapist")
    assert (b.is_active, b.caseload, b.checkins, b.attended) == (False, 0, 1, 1)
    assert row(response, "Alice Therapist").caseload == 3
    assert response.context["dash"].totals.checkins == 4
    assert b"inactive" in response.content


def test_it_shows_the_response_rate_by_channel(client, login, carol, alice, alice_client):
    """By hand: email offered 3 (an email+text answered by text, an email answered, an
    email expired) → 1 answered = 33%; text offered 2 (the email+text one, a text
    expired) → 1 = 50%; in session on the phone 1 of 1; on a handed device 0 of 0."""
    for days, status, channels, by in [
        (10, S.ANSWERED, ("email", "sms"), "sms"),
        (9, S.ANSWERED, ("email",), None),
        (8, S.EXPIRED, ("email",), None),
        (7, S.EXPIRED, ("sms",), None),
        (6, S.ANSWERED, ("in_session_phone",), None),
    ]:
        invitation(session_on(alice_client, days_ago=days), status, channels=channels, answered_by=by)
    login(client, carol)
    figures_from_raw_rows(carol.clinic)
    response = client.get(reverse("clinic_dashboard"))
    rows = {r.key: (r.offered, r.answered) for r in response.context["dash"].by_channel}
    assert rows == {"email": (3, 1), "sms": (2, 1), "in_session_phone": (1, 1), "in_session_device": (0, 0)}
    page = response.content.decode()
    assert "Response rate by channel" in page and "Text message" in page


def test_it_pages_the_therapist_table_and_totals_the_whole_clinic(client, login, carol, clinic):
    """30 therapists with one client and one session each: 25 on the first page, 5 on
    the second, the clinic row counting all 30 on both, and the CSV listing all 30."""
    for n in range(30):
        t = UserFactory(clinic=clinic, full_name=f"Therapist {n:02d}")
        session_on(ClientFactory(therapist=t), days_ago=3)
    figures_from_raw_rows(clinic)
    login(client, carol)
    first = client.get(reverse("clinic_dashboard"))
    second = client.get(reverse("clinic_dashboard"), {"page": 2})
    names = [r.name for r in first.context["dash"].therapists]
    assert names == [f"Therapist {n:02d}" for n in range(25)]
    assert [r.name for r in second.context["dash"].therapists] == [f"Therapist {n:02d}" for n in range(25, 30)]
    for response in (first, second):
        totals = response.context["dash"].totals
        assert (totals.caseload, totals.sessions_30d, totals.attended) == (30, 30, 30)
    assert "Page 1 of 2" in first.content.decode() and "page=2" in first.content.decode()
    rows = parse_csv(client.get(reverse("dashboard_export", args=["therapists"])))
    assert len(rows) == 1 + 30 + 1 and rows[-1][0] == "Clinic" and rows[-1][2] == "30"


def test_a_write_whose_refresh_task_was_lost_is_repaired_by_the_sweep(client, login, carol, alice, alice_client,
                                                                        django_capture_on_commit_callbacks):
    """The session is logged through the service, but the refresh it queues on commit
    never runs (a broker outage): the mark it left makes the beat's sweep count it."""
    from clinic.dashboards.tasks import refresh_stale_figures
    from clinic.models import StaleFigureDay
    from sessions.services import session_log

    with django_capture_on_commit_callbacks(execute=False):
        session_log(therapist=alice, client=alice_client, scheduled_start=timezone.now() - timedelta(days=2),
                    duration_minutes=50, attendance="attended", format="in_person")
    assert StaleFigureDay.objects.filter(clinic=alice.clinic).exists()
    login(client, carol)
    assert row(client.get(reverse("clinic_dashboard")), "Alice Therapist").sessions_30d == 0
    refresh_stale_figures()
    assert not StaleFigureDay.objects.exists()
    assert row(client.get(reverse("clinic_dashboard")), "Alice Therapist").sessions_30d == 1
