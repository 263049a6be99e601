import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from audit.models import AuditEvent
from sessions.models import SessionNote
from tests.clients.factories import FlagFactory, InvitationFactory
from tests.factories import CheckInFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def record(alice, alice_client):
    """Two rated sessions (the second with a comment), a no-show, flags old and new."""
    now = timezone.now()
    first = SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=14), format="video")
    CheckInFactory(session=first, trust=10, empathy=10, boundaries=9, collaboration=9)
    CheckInFactory(session=first, source=CheckIn.Source.THERAPIST, trust=9, empathy=9, boundaries=9, collaboration=9)
    InvitationFactory(session=first, status=SurveyInvitation.Status.ANSWERED)
    second = SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=7))
    CheckInFactory(session=second, trust=6, empathy=8, boundaries=8, collaboration=7, comment="Felt rushed today.")
    InvitationFactory(session=second, status=SurveyInvitation.Status.ANSWERED)
    SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=2), attendance="no_show")
    note = SessionNote(session=second, author=alice)
    note.text = "Alice's private view."
    note.save()
    FlagFactory(client=alice_client, kind=Flag.Kind.LOW_ALLIANCE, session=second, detail="total 29/40")
    FlagFactory(
        client=alice_client, kind=Flag.Kind.DISCREPANCY, raised_at=now - timedelta(days=10),
        acknowledged_at=now - timedelta(days=9), acknowledged_by=alice, response=Flag.Response.DISCUSSED,
        response_text="We talked it through.", resolved_at=now - timedelta(days=8),
    )
    return alice_client


def _chart_data(html):
    match = re.search(r'<script id="client-chart-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_it_emits_the_chart_data_as_json_without_inline_script(client, login, alice, record):
    login(client, alice)
    response = client.get(reverse("client_detail", args=[record.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    data = _chart_data(html)
    assert data["series"]["total"] == {"client": [38, 29], "therapist": [36, None]}
    assert data["series"]["trust"] == {"client": [10, 6], "therapist": [9, None]}
    assert set(data["series"]) == {"total", "trust", "empathy", "boundaries", "collaboration"}
    # The y axis fits the scores (29–38) and the clinic's threshold (36), not 0–40.
    assert data["axes"]["total"] == {"min": 26, "max": 40, "step": 2}
    assert data["thresholds"]["total"] == 36 and data["thresholds"]["trust"] == 7
    assert len(data["labels"]) == 2
    # The chart's dates read like the session table's ("27 Nov 2026").
    assert all(re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}", label) for label in data["labels"]), data["labels"]
    assert html.count("<canvas") == 5
    assert "js/client_charts.js" in html and "chart.js-4.4.4/chart.umd.js" in html
    # Every <script> is either a file or JSON data: nothing for a strict CSP to block.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert "style=" not in html


def test_it_gives_every_chart_a_data_table(client, login, alice, record):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[record.pk])).content.decode()
    assert html.count("<details") == 5
    for key in ("total", "trust", "empathy", "boundaries", "collaboration"):
        assert f'id="chart-table-{key}"' in html
        assert f'aria-describedby="chart-threshold-{key} chart-table-{key}"' in html


def test_it_lists_sessions_comments_and_flags_with_their_history(client, login, alice, record):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[record.pk])).content.decode()
    assert "No-show" in html and "Video" in html
    assert "Answered" in html
    assert "Felt rushed today." in html
    assert "Low alliance" in html and "total 29/40" in html
    assert "Discrepancy" in html and "Discussed the relationship in session" in html
    assert "We talked it through." in html and "by Alice Therapist" in html


def test_it_never_shows_a_note_on_the_client_page(client, login, alice, record):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[record.pk])).content.decode()
    assert "Alice's private view." not in html


def test_it_audits_every_view(client, login, alice, record):
    login(client, alice)
    client.get(reverse("client_detail", args=[record.pk]))
    client.get(reverse("client_detail", args=[record.pk]))
    views = AuditEvent.objects.filter(action="client.view", object_id=str(record.pk))
    assert views.count() == 2
    assert {e.actor for e in views} == {alice}


def test_it_offers_the_therapist_the_actions(client, login, alice, record):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[record.pk])).content.decode()
    assert "Log a session" in html and "Edit details" in html and "Discharge" in html


def test_it_shows_the_clinic_admin_scores_without_notes_or_actions(client, login, carol, record):
    login(client, carol)
    response = client.get(reverse("client_detail", args=[record.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert _chart_data(html)["series"]["total"]["client"] == [38, 29]
    assert "Alice's private view." not in html
    assert "Log a session" not in html and "Edit details" not in html and "Discharge" not in html
    assert AuditEvent.objects.filter(action="client.view", actor=carol).count() == 1
    # Clients were told their therapist reads their comments, not the clinic.
    assert "Felt rushed today." not in html
    assert "shown to the client's therapist only" in html


def test_it_says_so_when_there_are_no_check_ins_yet(client, login, alice, alice_client):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[alice_client.pk])).content.decode()
    assert "No check-ins yet" in html
    assert "client_charts.js" not in html


@pytest.mark.parametrize("who", ["bob", "mallory"])
def test_it_answers_404_to_anyone_outside_the_caseload(request, client, login, record, who):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("client_detail", args=[record.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="client.view").exists()


def test_it_offers_the_therapist_a_resend_for_an_expired_check_in_and_the_admin_none(
    client, login, alice, carol, alice_client
):
    session = SessionFactory(client=alice_client, scheduled_start=timezone.now() - timedelta(days=10))
    expired = InvitationFactory(session=session, status=SurveyInvitation.Status.EXPIRED)
    url = reverse("client_detail", args=[alice_client.pk])
    resend = reverse("invitation_resend", args=[expired.pk])

    login(client, alice)
    assert resend in client.get(url).content.decode()
    response = client.post(resend)
    assert response.status_code == 302
    expired.refresh_from_db()
    assert expired.status == SurveyInvitation.Status.SCHEDULED
    assert resend not in client.get(url).content.decode()

    expired.status = SurveyInvitation.Status.EXPIRED
    expired.save(update_fields=["status"])
    login(client, carol)
    assert resend not in client.get(url).content.decode()
