"""The session form's controls: the therapist's four ratings are the client's 0–10 tap
control (one shared partial), with "Not rated" to take a choice back, and a new
session starts at the latest half hour on the clinic's clock."""

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn
from sessions.forms import SessionForm, latest_half_hour
from sessions.models import Session

pytestmark = pytest.mark.django_db

RATINGS = ("trust", "empathy", "boundaries", "collaboration")


def fieldset_of(html, name):
    """The <fieldset> that holds the radios called `name`."""
    at = html.index(f'name="{name}"')
    return html[html.rindex("<fieldset", 0, at):html.index("</fieldset>", at)]


def test_each_rating_is_a_fieldset_of_eleven_tap_targets_and_not_rated(client, login, alice, new_session_url):
    login(client, alice)
    html = client.get(new_session_url).content.decode()
    assert not re.search(r'<input type="number" name="(trust|empathy|boundaries|collaboration)"', html)
    for name, legend in zip(RATINGS, ("Trust (0–10)", "Empathy (0–10)", "Boundaries (0–10)", "Collaboration (0–10)")):
        box = fieldset_of(html, name)
        assert f'<legend class="scale-legend">{legend}</legend>' in box
        values = re.findall(rf'<input class="btn-check" type="radio" name="{name}" id="{name}-(\w+)" value="(\d*)"', box)
        assert values == [(str(n), str(n)) for n in range(11)] + [("none", "")]
        for value in [*map(str, range(11)), "none"]:
            assert f'<label class="btn scale-option' in box and f'for="{name}-{value}"' in box
        # The ends say what they mean to a screen reader; nothing is chosen yet.
        assert '0<span class="visually-hidden"> (0 = not at all)</span>' in box
        assert '10<span class="visually-hidden"> (10 = completely)</span>' in box
        assert re.search(rf'id="{name}-none" value="" checked', box)
        assert box.count("checked") == 1


def test_the_clients_check_in_draws_its_answers_with_the_same_control(client, alice_client):
    from django.core import mail

    from tests.alliance.conftest import log_session, send_inline, token_of

    _, invitation = log_session(client=alice_client)
    send_inline(invitation)
    html = client.get(f"/s/{token_of(mail.outbox[-1])}/").content.decode()
    box = fieldset_of(html, "trust")
    assert 'class="scale-question survey-question"' in box
    assert '<label class="btn scale-option" for="trust-7">7</label>' in box
    assert "required" in box and 'id="trust-none"' not in box  # every answer is needed there


def test_a_chosen_rating_stays_chosen_when_the_form_comes_back_with_an_error(
    client, login, alice, new_session_url, session_form
):
    login(client, alice)
    response = client.post(new_session_url, session_form(new_session_url, duration_minutes="3", trust="8"))
    assert response.status_code == 400
    box = fieldset_of(response.content.decode(), "trust")
    assert 'id="trust-8" value="8" checked' in box
    assert 'id="trust-none" value=""' in box and 'value="" checked' not in box


def test_an_edited_session_shows_its_rating_chosen(client, login, alice, new_session_url, session_form):
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url, trust="3"))
    session = Session.objects.get()
    html = client.get(reverse("session_edit", args=[session.pk])).content.decode()
    assert 'id="trust-3" value="3" checked' in fieldset_of(html, "trust")


def test_not_rated_is_refused_for_an_attended_session_and_says_why(client, login, alice, new_session_url, session_form):
    login(client, alice)
    response = client.post(new_session_url, session_form(new_session_url, empathy=""))
    assert response.status_code == 400
    box = fieldset_of(response.content.decode(), "empathy")
    assert 'aria-describedby="empathy-help empathy-error"' in box
    assert '<p class="scale-error" id="empathy-error">Rate this from 0 to 10: the session was attended.</p>' in box
    assert not Session.objects.exists()


def test_not_rated_takes_back_a_rating_when_the_session_turns_out_missed(client, login, alice, new_session_url, session_form):
    login(client, alice)
    client.post(new_session_url, session_form(new_session_url))
    session = Session.objects.get()
    url = reverse("session_edit", args=[session.pk])
    data = session_form(url, attendance="no_show", **dict.fromkeys(RATINGS, ""))
    assert client.post(url, data).status_code == 302
    assert not CheckIn.objects.filter(session=session).exists()
    html = client.get(url).content.decode()
    assert all(re.search(rf'id="{n}-none" value="" checked', fieldset_of(html, n)) for n in RATINGS)


@pytest.mark.parametrize(
    "now, zone, expected",
    [
        (datetime(2026, 6, 15, 13, 47, tzinfo=UTC), "Europe/London", datetime(2026, 6, 15, 14, 30)),  # BST
        (datetime(2026, 6, 15, 13, 30, tzinfo=UTC), "Europe/London", datetime(2026, 6, 15, 14, 30)),  # on the dot
        (datetime(2026, 6, 15, 13, 29, 59, tzinfo=UTC), "Europe/London", datetime(2026, 6, 15, 14, 0)),
        (datetime(2026, 6, 15, 13, 47, tzinfo=UTC), "Asia/Kolkata", datetime(2026, 6, 15, 19, 0)),  # UTC+5:30
        (datetime(2026, 6, 15, 3, 10, tzinfo=UTC), "America/New_York", datetime(2026, 6, 14, 23, 0)),  # yesterday there
    ],
)
def test_the_latest_half_hour_is_on_the_clinics_clock(now, zone, expected):
    import zoneinfo

    tz = zoneinfo.ZoneInfo(zone)
    got = latest_half_hour(now, tz)
    assert got.replace(tzinfo=None) == expected and got <= now
    initial = SessionForm.initial_for_new(tz=tz, now=now)
    assert (initial["date"], initial["start_time"], initial["attendance"]) == (expected.date(), expected.time(), "attended")


def test_a_new_session_starts_at_the_latest_half_hour_in_the_clinics_time_zone(client, login, alice, new_session_url):
    alice.clinic.timezone = "Asia/Kolkata"  # half an hour off UTC: a UTC clock would be wrong
    alice.clinic.save()
    login(client, alice)
    before = latest_half_hour(timezone.now(), alice.clinic.tzinfo)
    html = client.get(new_session_url).content.decode()
    after = latest_half_hour(timezone.now(), alice.clinic.tzinfo)
    offered = {(f'value="{t:%Y-%m-%d}"', f'value="{t:%H:%M}"') for t in (before, after)}
    assert any(d in html and t in html for d, t in offered), offered
    assert before.minute in (0, 30)


def test_a_booking_starts_a_week_on_at_the_same_time_booked(client, login, alice, alice_client):
    import zoneinfo

    tz = zoneinfo.ZoneInfo("Europe/London")
    # Across the end of summer time the wall clock stays put: 14:30 is 14:30 a week on.
    initial = SessionForm.initial_for_new(tz=tz, now=datetime(2026, 10, 22, 13, 40, tzinfo=UTC), booking=True)
    assert (initial["date"], initial["start_time"], initial["attendance"]) == (date(2026, 10, 29), time(14, 30), "booked")

    login(client, alice)
    response = client.get(reverse("session_book", args=[alice_client.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Book a session with J.D." in html and ">Book session</button>" in html
    form = response.context["form"]
    assert form["attendance"].value() == "booked"
    assert form["date"].value() - timezone.localdate(timezone=alice.clinic.tzinfo) in (timedelta(days=7), timedelta(days=6))
