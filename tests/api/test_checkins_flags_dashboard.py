"""Check-ins (comments only under comments:read), flags (list, acknowledge) and the
dashboard's figures through the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, Flag
from api.models import Scope
from clinic.dashboards.figures import figures_recompute
from clinic.dashboards.forms import DashboardFilterForm
from clinic.dashboards.selectors import clinic_dashboard
from tests.api.conftest import Api, error_of
from tests.factories import CheckInFactory, ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(alice):
    client = ClientFactory(therapist=alice, external_id="EHR-9")
    session = SessionFactory(client=client)
    return CheckInFactory(session=session, trust=8, empathy=7, boundaries=9, collaboration=6,
                          comment="felt rushed", channel="email")


def test_scores_come_without_the_comment_unless_the_key_may_read_comments(make_key, answered):
    _, scores_only = make_key([Scope.SCORES_READ])
    _, with_comments = make_key([Scope.SCORES_READ, Scope.COMMENTS_READ])
    plain = Api(scores_only).get(reverse("api_checkins"))
    assert plain.status_code == 200
    [row] = plain.json()["results"]
    assert (row["trust"], row["empathy"], row["boundaries"], row["collaboration"], row["total"]) == (8, 7, 9, 6, 30)
    assert (row["channel"], row["source"], row["client_external_id"]) == ("email", "client", "EHR-9")
    assert "comment" not in row and b"felt rushed" not in plain.content
    # Clinical data stays out of browser and proxy caches, as on the staff pages.
    assert "no-store" in plain["Cache-Control"]
    [full] = Api(with_comments).get(reverse("api_checkins")).json()["results"]
    assert full["comment"] == "felt rushed"


def test_comments_alone_read_no_scores(make_key, answered):
    _, secret = make_key([Scope.COMMENTS_READ])
    response = Api(secret).get(reverse("api_checkins"))
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_a_changed_check_in_shows_up_in_the_next_poll(api, answered):
    first = api.get(reverse("api_checkins")).json()["results"]
    since = first[-1]["updated_at"]
    CheckIn.objects.filter(pk=answered.pk).update(updated_at=timezone.now() - timedelta(days=1))
    assert api.get(reverse("api_checkins"), {"updated_since": since}).json()["results"] == []
    answered.trust = 3
    answered.save()
    [again] = api.get(reverse("api_checkins"), {"updated_since": since}).json()["results"]
    assert again["trust"] == 3


def test_flags_are_listed_and_acknowledged_in_the_therapists_name(api, alice, answered):
    flag = Flag.objects.create(client=answered.client, kind="low_alliance", severity=4, session=answered.session, detail="30/40")
    listed = api.get(reverse("api_flags"), {"open": "true"}).json()["results"]
    assert [(f["id"], f["kind"], f["acknowledged_at"], f["strategies"]) for f in listed] == [
        (flag.pk, "low_alliance", None, [])
    ]
    body = {"strategies": ["invite_feedback", "revisit_goals"]}
    response = api.post(reverse("api_flag_acknowledge", args=[flag.pk]), body)
    assert response.status_code == 200, response.content
    flag.refresh_from_db()
    assert flag.acknowledged_by == alice
    assert sorted(flag.strategies.values_list("strategy", flat=True)) == ["invite_feedback", "revisit_goals"]
    assert response.json()["acknowledged_at"] and response.json()["strategies"] == ["invite_feedback", "revisit_goals"]
    again = api.post(reverse("api_flag_acknowledge", args=[flag.pk]), body)
    assert again.status_code == 409


def test_an_acknowledgement_needs_strategies_the_flag_offers_and_no_private_note(api, answered):
    flag = Flag.objects.create(client=answered.client, kind="drop", severity=5, detail="-4")
    for body, field in (
        ({"strategies": ["other"]}, "strategies"),  # it needs the therapist's own note
        ({"strategies": []}, "strategies"),
        ({"strategies": ["address_attendance"]}, "strategies"),  # not an option for a drop
        ({"strategies": ["invite_feedback"], "note": "said in the EHR"}, "note"),  # unknown field
    ):
        response = api.post(reverse("api_flag_acknowledge", args=[flag.pk]), body)
        assert response.status_code == 400, (body, response.content)
        assert list(error_of(response)["fields"]) == [field], body
    flag.refresh_from_db()
    assert flag.acknowledged_at is None


def test_the_dashboard_gives_the_pages_figures_for_a_period(api, carol, answered):
    # The check-in was written by a factory, past the services that keep the figures.
    figures_recompute(carol.clinic)
    today = timezone.localdate()
    params = {"date_from": (today - timedelta(days=30)).isoformat(), "date_to": today.isoformat(), "period": "week"}
    response = api.get(reverse("api_dashboard"), params)
    assert response.status_code == 200, response.content
    body = response.json()
    form = DashboardFilterForm(params, clinic=carol.clinic)
    assert form.is_valid()
    expected = clinic_dashboard(form.filters())
    assert body["totals"]["checkins"] == expected.totals.checkins == 1
    assert body["totals"]["mean_total"] == expected.totals.mean_total == 30
    assert [p["checkins"] for p in body["periods"]] == [p.checkins for p in expected.periods]
    assert (body["date_from"], body["period"]) == (params["date_from"], "week")


def test_the_dashboard_refuses_a_backwards_range(api):
    response = api.get(reverse("api_dashboard"), {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "The start date must be on or before the end date."
