"""Acting on a flag: the therapist acknowledges it with the repair strategies they used, and the client page
shows whether the relationship recovered afterwards."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.flags.rules import flags_recompute_for_client
from alliance.models import Flag
from alliance.flags.selectors import flags_for_client_page
from audit.models import AuditEvent
from tests.alliance.history import checkin, history, session_on
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_flag(alice_client):
    history(alice_client, [38, 33])  # a drop of 5 and a low total
    flags_recompute_for_client(client=alice_client)
    return Flag.objects.get(client=alice_client, kind=Flag.Kind.LOW_ALLIANCE)


def ack_url(flag):
    return reverse("flag_acknowledge", args=[flag.id])


def test_it_lets_the_therapist_acknowledge_a_flag_with_strategies(client, login, alice, low_flag):
    login(client, alice)
    response = client.post(ack_url(low_flag), {"strategies": ["invite_feedback", "revisit_goals"]})
    assert response.status_code == 302
    low_flag.refresh_from_db()
    assert low_flag.acknowledged_by == alice
    assert sorted(low_flag.strategies.values_list("strategy", flat=True)) == ["invite_feedback", "revisit_goals"]
    assert low_flag.acknowledged_at is not None
    assert low_flag.resolved_at is None  # acknowledged is not resolved
    event = AuditEvent.objects.get(action="flag.acknowledge")
    assert event.actor == alice and event.object_id == str(low_flag.pk)


def test_it_requires_a_note_when_the_only_strategy_is_something_else(client, login, alice, low_flag):
    login(client, alice)
    response = client.post(ack_url(low_flag), {"strategies": "other", "note": "  "})
    assert response.status_code == 400
    assert b"Say briefly what you did" in response.content
    low_flag.refresh_from_db()
    assert low_flag.acknowledged_at is None


def test_it_keeps_the_note_encrypted_and_out_of_the_audit_trail(client, login, alice, low_flag):
    login(client, alice)
    client.post(ack_url(low_flag), {"strategies": "other", "note": "Phoned to check in."})
    low_flag.refresh_from_db()
    assert low_flag.repair_note.text == "Phoned to check in." and low_flag.repair_note.author == alice
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM alliance_repairnote")
        assert "Phoned" not in cursor.fetchone()[0]
    assert "Phoned" not in str(AuditEvent.objects.get(action="flag.acknowledge").detail)


def test_it_refuses_a_note_over_2000_characters(client, login, alice, low_flag):
    login(client, alice)
    response = client.post(ack_url(low_flag), {"strategies": "other", "note": "x" * 2001})
    assert response.status_code == 400
    low_flag.refresh_from_db()
    assert low_flag.acknowledged_at is None


def test_it_refuses_an_unknown_strategy_or_one_this_kind_does_not_offer(client, login, alice, low_flag):
    login(client, alice)
    assert client.post(ack_url(low_flag), {"strategies": "ignored"}).status_code == 400
    # Attendance advice on a low-alliance flag: not one of its options.
    response = client.post(ack_url(low_flag), {"strategies": "address_attendance"})
    assert response.status_code == 400
    assert client.post(ack_url(low_flag), {}).status_code == 400
    low_flag.refresh_from_db()
    assert low_flag.acknowledged_at is None and not low_flag.strategies.exists()


@pytest.mark.parametrize("who", ["bob", "carol", "mallory"])
def test_it_answers_404_to_anyone_but_the_clients_therapist(client, login, low_flag, who, request):
    login(client, request.getfixturevalue(who))
    assert client.post(ack_url(low_flag), {"strategies": "invite_feedback"}).status_code == 404
    low_flag.refresh_from_db()
    assert low_flag.acknowledged_at is None


def test_it_does_not_overwrite_an_earlier_response(client, login, alice, low_flag):
    login(client, alice)
    client.post(ack_url(low_flag), {"strategies": "invite_feedback"})
    client.post(ack_url(low_flag), {"strategies": "adjust_approach"})
    low_flag.refresh_from_db()
    assert list(low_flag.strategies.values_list("strategy", flat=True)) == ["invite_feedback"]


def test_it_refuses_get(client, login, alice, low_flag):
    login(client, alice)
    assert client.get(ack_url(low_flag)).status_code == 405


# --- Repair tracking ---------------------------------------------------------------------

def acknowledge(flag, days_ago):
    Flag.objects.filter(pk=flag.pk).update(
        acknowledged_at=timezone.now() - timedelta(days=days_ago), response=Flag.Response.DISCUSSED
    )


def test_it_reports_no_data_until_the_client_rates_a_session_after_the_response(alice_client):
    checkin(session_on(alice_client, days_ago=20), 38)
    checkin(session_on(alice_client, days_ago=13), 33)
    flags_recompute_for_client(client=alice_client)
    acknowledge(Flag.objects.get(kind=Flag.Kind.DROP), days_ago=12)
    flag = next(f for f in flags_for_client_page(alice_client) if f.kind == Flag.Kind.DROP)
    assert (flag.repair.total_at_flag, flag.repair.pre_flag, flag.repair.after) == (33, 38, [])
    assert flag.repair.verdict == "no data"


def test_it_reports_recovered_when_the_client_is_back_to_the_pre_flag_level(alice_client):
    checkin(session_on(alice_client, days_ago=20), 38)
    checkin(session_on(alice_client, days_ago=13), 33)
    flags_recompute_for_client(client=alice_client)
    acknowledge(Flag.objects.get(kind=Flag.Kind.DROP), days_ago=12)
    checkin(session_on(alice_client, days_ago=6), 35)
    checkin(session_on(alice_client, days_ago=1), 36)  # ≥ the low-alliance threshold
    flag = next(f for f in flags_for_client_page(alice_client) if f.kind == Flag.Kind.DROP)
    assert flag.repair.after == [35, 36]
    assert flag.repair.verdict == "recovered"


def test_it_reports_not_yet_while_the_client_stays_below(alice_client):
    checkin(session_on(alice_client, days_ago=30), 38)
    checkin(session_on(alice_client, days_ago=25), 33)
    flags_recompute_for_client(client=alice_client)
    acknowledge(Flag.objects.get(kind=Flag.Kind.DROP), days_ago=24)
    for days, total in [(20, 34), (15, 35), (10, 34), (5, 40)]:
        checkin(session_on(alice_client, days_ago=days), total)
    flag = next(f for f in flags_for_client_page(alice_client) if f.kind == Flag.Kind.DROP)
    # Only the next three check-ins count; the fourth (40) is outside the look-ahead.
    assert flag.repair.after == [34, 35, 34]
    assert flag.repair.verdict == "not yet"


def test_it_loads_the_flag_history_in_a_fixed_number_of_queries(alice_client):
    def build(n):
        for i in range(n):
            checkin(session_on(alice_client, days_ago=200 - 10 * i), 30 if i % 2 else 39)
            flags_recompute_for_client(client=alice_client)
            Flag.objects.filter(client=alice_client, acknowledged_at__isnull=True).update(
                acknowledged_at=timezone.now() - timedelta(days=199 - 10 * i), response="adjusted"
            )

    build(2)
    with CaptureQueriesContext(connection) as small:
        flags_for_client_page(alice_client)
    build(10)
    with CaptureQueriesContext(connection) as large:
        flags = flags_for_client_page(alice_client)
        [f.repair for f in flags], [f.session for f in flags], [f.acknowledged_by for f in flags]
    assert len(flags) > 4
    assert len(small) == len(large) == 3, "\n".join(q["sql"] for q in large.captured_queries)


def render_history(user, client_record):
    request = RequestFactory().get("/clients/x/")
    request.user = user
    return render_to_string(
        "alliance/_flag_history.html", {"flags": flags_for_client_page(client_record), "user": user}, request=request
    )


def test_it_shows_the_acknowledge_form_in_the_partial_only_to_the_therapist(alice, carol, low_flag, alice_client):
    assert ack_url(low_flag) in render_history(alice, alice_client)
    assert ack_url(low_flag) not in render_history(carol, alice_client)


def test_it_shows_the_response_and_the_repair_verdict_in_the_partial(alice, alice_client, low_flag):
    acknowledge(low_flag, days_ago=0.5)
    html = render_history(alice, alice_client)
    assert "Discussed the relationship in session" in html
    assert "no data" in html
    assert ack_url(low_flag) not in html


# --- Needs attention -----------------------------------------------------------------------

def test_it_lists_open_flags_most_severe_then_oldest(client, login, alice, alice_client):
    other = ClientFactory(therapist=alice, display_name="Z.Z.")
    history(other, [None, None])
    for s in other.sessions.all():
        s.attendance = "no_show"
        s.save()
    flags_recompute_for_client(client=other)  # attendance, severity 2
    history(alice_client, [40, 33])
    flags_recompute_for_client(client=alice_client)  # drop 5, low 4
    login(client, alice)
    response = client.get(reverse("needs_attention"))
    assert response.status_code == 200
    rows = response.context["to_review"]
    # One row per client, the client with the most severe flag first, each client's
    # flags in the same order.
    assert [r.client for r in rows] == [alice_client, other]
    assert [f.kind for f in rows[0].flags] == [Flag.Kind.DROP, Flag.Kind.LOW_ALLIANCE]
    assert [f.kind for f in rows[1].flags] == [Flag.Kind.ATTENDANCE]
    html = response.content.decode()
    assert html.count(">J.D.</a>") == 1 and html.count(">Z.Z.</a>") == 1


def test_a_client_with_several_flags_is_one_row_and_each_flag_is_acknowledged_in_place(client, login, alice, alice_client):
    history(alice_client, [40, 33])
    flags_recompute_for_client(client=alice_client)  # drop and low alliance
    drop = Flag.objects.get(client=alice_client, kind=Flag.Kind.DROP)
    login(client, alice)
    page = client.get(reverse("needs_attention")).content.decode()
    assert page.count(f'action="{ack_url(drop)}"') == 1
    assert page.count('class="flag-ack-form') == 2
    response = client.post(ack_url(drop), {"strategies": "own_part", "next": reverse("needs_attention")})
    assert response.status_code == 302 and response["Location"] == reverse("needs_attention")
    drop.refresh_from_db()
    assert drop.acknowledged_by == alice
    after = client.get(reverse("needs_attention"))
    row = after.context["to_review"][0]
    assert [f.kind for f in row.to_review] == [Flag.Kind.LOW_ALLIANCE]
    assert after.content.decode().count('class="flag-ack-form') == 1


def test_it_shows_acknowledged_open_flags_separately(client, login, alice, low_flag):
    acknowledge(low_flag, days_ago=0)
    login(client, alice)
    response = client.get(reverse("needs_attention"))
    # The client still has an unacknowledged drop flag, so their one row stays under
    # "to review", showing the low-alliance flag as acknowledged within it.
    (row,) = response.context["to_review"]
    assert low_flag in row.flags and low_flag not in row.to_review
    assert "Acknowledged " in response.content.decode()
    Flag.objects.filter(client=low_flag.client).update(acknowledged_at=timezone.now(), acknowledged_by=alice, response="discussed")
    response = client.get(reverse("needs_attention"))
    assert response.context["to_review"] == [] and [r.client for r in response.context["acknowledged"]] == [low_flag.client]
    assert b"Acknowledged, still open" in response.content


def test_it_shows_a_therapist_only_their_own_caseload(client, login, bob, low_flag):
    login(client, bob)
    response = client.get(reverse("needs_attention"))
    assert response.context["to_review"] == [] and b"J.D." not in response.content


def test_it_forbids_the_needs_attention_page_to_clinic_admins(client, login, carol):
    login(client, carol)
    assert client.get(reverse("needs_attention")).status_code == 403


# --- recompute_flags -------------------------------------------------------------------------

def test_it_applies_new_thresholds_with_the_recompute_command(alice_client, capsys):
    history(alice_client, [34])
    clinic = alice_client.clinic
    clinic.low_total_below = 30
    clinic.save()
    call_command("recompute_flags", "--clinic", str(clinic.pk))
    assert not Flag.objects.exists()
    clinic.low_total_below = 36
    clinic.save()
    call_command("recompute_flags")
    assert Flag.objects.get().kind == Flag.Kind.LOW_ALLIANCE
    assert "1 raised" in capsys.readouterr().out


# --- On the client page --------------------------------------------------------------------

def test_it_lets_the_therapist_act_on_a_flag_from_the_client_page_and_come_back(client, login, alice, alice_client, low_flag):
    login(client, alice)
    page = reverse("client_detail", args=[alice_client.id])
    response = client.get(page)
    assert response.status_code == 200
    assert ack_url(low_flag).encode() in response.content
    response = client.post(ack_url(low_flag), {"strategies": "adjust_approach", "note": "Slower pace.", "next": page})
    assert response.status_code == 302 and response["Location"] == page
    response = client.get(page)
    assert b"Adjusted the approach or pace" in response.content and b"no data" in response.content
    assert b"Slower pace." in response.content
    assert ack_url(low_flag).encode() not in response.content


def test_it_shows_repair_but_no_form_to_the_clinic_admin_on_the_client_page(client, login, carol, alice_client, low_flag):
    acknowledge(low_flag, days_ago=1)
    login(client, carol)
    response = client.get(reverse("client_detail", args=[alice_client.id]))
    assert response.status_code == 200
    assert b"Repair:" in response.content
    assert b"/acknowledge/" not in response.content


def test_it_does_not_follow_a_next_link_to_another_site(client, login, alice, low_flag):
    login(client, alice)
    response = client.post(ack_url(low_flag), {"strategies": "invite_feedback", "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response["Location"]


def test_it_links_each_flag_on_the_needs_attention_page_to_the_client_page(client, login, alice, alice_client, low_flag):
    login(client, alice)
    response = client.get(reverse("needs_attention"))
    assert f'href="{reverse("client_detail", args=[alice_client.id])}#flag-{low_flag.id}"'.encode() in response.content
    assert f'href="{reverse("needs_attention")}"'.encode() in response.content  # in the menu


# --- Repair guidance and the private note -------------------------------------------------

def test_it_offers_the_repair_options_of_the_flag_kind_with_their_research(client, login, alice, alice_client, low_flag):
    login(client, alice)
    html = client.get(reverse("client_detail", args=[alice_client.id])).content.decode()
    assert "Invited the client to say what is not working" in html
    assert "Eubanks, C. F., Muran, J. C., &amp; Safran, J. D. (2018)" in html
    assert "They are not instructions" in html
    # The attendance options belong to attendance flags, not to this one.
    assert f'id="ack-{low_flag.id}-address_attendance"' not in html


def test_the_private_note_is_shown_to_its_author_alone(client, login, alice, carol, alice_client, low_flag):
    login(client, alice)
    client.post(ack_url(low_flag), {"strategies": ["invite_feedback"], "note": "PRIVATE-REPAIR-WORDS"})
    page = reverse("client_detail", args=[alice_client.id])
    assert b"PRIVATE-REPAIR-WORDS" in client.get(page).content
    login(client, carol)
    response = client.get(page)
    assert response.status_code == 200
    assert b"PRIVATE-REPAIR-WORDS" not in response.content
    assert b"Invited the client to say what is not working" in response.content  # the strategy is not private
