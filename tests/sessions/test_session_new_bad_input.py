"""Bad input on the log-a-session page: each gets a clear message on the form, a 4xx,
and nothing saved, not even in part."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alliance.models import CheckIn, SurveyInvitation
from audit.models import AuditEvent
from sessions.models import Session, SessionNote
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db


def assert_nothing_saved():
    assert Session.objects.count() == 0
    assert SessionNote.objects.count() == 0
    assert CheckIn.objects.count() == 0
    assert SurveyInvitation.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="session.").exists()


def _post(client, login, alice, url, session_form, **overrides):
    login(client, alice)
    return client.post(url, session_form(url, **overrides))


@pytest.mark.parametrize("value", ["11", "-1", "100"])
def test_it_refuses_a_score_outside_0_to_10(client, login, alice, new_session_url, session_form, value):
    response = _post(client, login, alice, new_session_url, session_form, empathy=value)
    assert response.status_code == 400
    assert "Scores run from 0 to 10." in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_a_score_that_is_not_a_number(client, login, alice, new_session_url, session_form):
    response = _post(client, login, alice, new_session_url, session_form, trust="eight")
    assert response.status_code == 400
    assert "Enter a whole number from 0 to 10." in response.content.decode()
    assert_nothing_saved()


def test_it_requires_the_rating_when_the_session_was_attended(client, login, alice, new_session_url, session_form):
    response = _post(client, login, alice, new_session_url, session_form, collaboration="")
    assert response.status_code == 400
    assert "Rate this from 0 to 10: the session was attended." in response.content.decode()
    assert_nothing_saved()


@pytest.mark.parametrize("value", ["2026-02-30", "yesterday", "31/12/2025", ""])
def test_it_refuses_a_date_that_does_not_parse(client, login, alice, new_session_url, session_form, value):
    response = _post(client, login, alice, new_session_url, session_form, date=value)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a real date (YYYY-MM-DD)." in html or "This field is required." in html
    assert_nothing_saved()


def test_it_refuses_a_time_that_does_not_parse(client, login, alice, new_session_url, session_form):
    response = _post(client, login, alice, new_session_url, session_form, start_time="25:61")
    assert response.status_code == 400
    assert "Enter a time as HH:MM." in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_a_session_more_than_a_year_ahead(client, login, alice, new_session_url, session_form):
    when = timezone.localdate() + timedelta(days=400)
    response = _post(client, login, alice, new_session_url, session_form, date=when.isoformat())
    assert response.status_code == 400
    assert "A session can be at most one year in the future." in response.content.decode()
    assert_nothing_saved()


def test_it_accepts_a_session_planned_months_ahead(client, login, alice, new_session_url, session_form):
    when = timezone.localdate() + timedelta(days=200)
    response = _post(client, login, alice, new_session_url, session_form, date=when.isoformat(), attendance="cancelled")
    assert response.status_code == 302
    assert Session.objects.count() == 1


def test_it_refuses_a_session_more_than_ten_years_ago(client, login, alice, new_session_url, session_form):
    when = timezone.localdate() - timedelta(days=11 * 365)
    response = _post(client, login, alice, new_session_url, session_form, date=when.isoformat())
    assert response.status_code == 400
    assert "A session can be at most ten years in the past." in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_a_note_over_20000_characters(client, login, alice, new_session_url, session_form):
    note = "x" * (SessionNote.MAX_LENGTH + 1)
    response = _post(client, login, alice, new_session_url, session_form, note=note)
    assert response.status_code == 400
    assert "A note can be at most 20,000 characters." in response.content.decode()
    assert_nothing_saved()


def test_it_accepts_a_note_of_exactly_20000_characters(client, login, alice, new_session_url, session_form):
    response = _post(client, login, alice, new_session_url, session_form, note="y" * SessionNote.MAX_LENGTH)
    assert response.status_code == 302
    assert SessionNote.objects.count() == 1


def test_it_refuses_a_duration_out_of_range(client, login, alice, new_session_url, session_form):
    response = _post(client, login, alice, new_session_url, session_form, duration_minutes="3")
    assert response.status_code == 400
    assert "A session lasts 5 to 480 minutes." in response.content.decode()
    assert_nothing_saved()


def test_it_refuses_a_double_submit_and_saves_once(client, login, alice, new_session_url, session_form):
    login(client, alice)
    data = session_form(new_session_url)
    assert client.post(new_session_url, data).status_code == 302
    replay = client.post(new_session_url, data)
    assert replay.status_code == 409
    assert "This form was already submitted" in replay.content.decode()
    assert Session.objects.count() == 1
    assert SessionNote.objects.count() == 1
    assert CheckIn.objects.count() == 1
    assert SurveyInvitation.objects.count() == 1
    assert AuditEvent.objects.filter(action="session.create").count() == 1


def test_it_refuses_a_form_without_its_token(client, login, alice, new_session_url, session_form):
    response = _post(client, login, alice, new_session_url, session_form, form_token="")
    assert response.status_code == 409
    assert "This form was already submitted" in response.content.decode()
    assert_nothing_saved()


def test_it_keeps_the_token_usable_after_a_correctable_error(client, login, alice, new_session_url, session_form):
    login(client, alice)
    data = session_form(new_session_url, trust="11")
    assert client.post(new_session_url, data).status_code == 400
    data["trust"] = "10"
    assert client.post(new_session_url, data).status_code == 302
    assert Session.objects.count() == 1


def test_it_offers_a_fresh_token_after_a_replay(client, login, alice, new_session_url, session_form):
    login(client, alice)
    data = session_form(new_session_url)
    client.post(new_session_url, data)
    replay = client.post(new_session_url, data)
    fresh = replay.context["form"]["form_token"].value()
    assert fresh != data["form_token"]
    assert client.post(new_session_url, {**data, "form_token": fresh}).status_code == 302
    assert Session.objects.count() == 2


def test_it_refuses_the_loser_of_two_simultaneous_submits(client, login, alice, alice_client, new_session_url, session_form):
    login(client, alice)
    data = session_form(new_session_url)
    # The other submit of the same form got in first: its session holds the token, but
    # this request's copy of the browser session still lists the token as unused.
    SessionFactory(client=alice_client, form_token=data["form_token"])
    response = client.post(new_session_url, data)
    assert response.status_code == 409
    assert "This form was already submitted" in response.content.decode()
    assert Session.objects.count() == 1
    assert SessionNote.objects.count() == 0
    assert CheckIn.objects.count() == 0
