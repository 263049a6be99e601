"""The flag rules, at their boundaries, with the clinic's default thresholds unless a
test says otherwise."""

import pytest
from django.utils import timezone

from alliance.flags.rules import flags_recompute_for_client
from alliance.models import CheckIn, Flag, SurveyInvitation
from sessions.models import Session
from tests.alliance.history import checkin, history, invitation, scores, session_on

pytestmark = pytest.mark.django_db

A = Session.Attendance
S = SurveyInvitation.Status


def open_kinds(client):
    return set(Flag.objects.filter(client=client, resolved_at__isnull=True).values_list("kind", flat=True))


def recompute(client):
    return flags_recompute_for_client(client=client)


# --- Low alliance -----------------------------------------------------------------------

def test_it_raises_low_alliance_for_a_total_of_35(alice_client):
    history(alice_client, [35])
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.LOW_ALLIANCE}
    assert Flag.objects.get(client=alice_client).detail == "total 35/40"


def test_it_does_not_raise_low_alliance_for_a_total_of_36(alice_client):
    history(alice_client, [36])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_raises_low_alliance_when_one_dimension_is_6_even_with_a_high_total(alice_client):
    session = session_on(alice_client, days_ago=1)
    checkin(session, 36, low_dimension=6)  # 6 + 10 + 10 + 10
    recompute(alice_client)
    flag = Flag.objects.get(client=alice_client)
    assert flag.kind == Flag.Kind.LOW_ALLIANCE
    assert "below 7: trust" in flag.detail


def test_it_does_not_raise_low_alliance_when_the_lowest_dimension_is_7(alice_client):
    session = session_on(alice_client, days_ago=1)
    checkin(session, 37, low_dimension=7)
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_ignores_the_therapists_own_rating_for_low_alliance(alice_client):
    session = session_on(alice_client, days_ago=1)
    checkin(session, 20, source=CheckIn.Source.THERAPIST)
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


# --- Drop -------------------------------------------------------------------------------

def test_it_raises_a_drop_of_3_points(alice_client):
    history(alice_client, [40, 37])
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.DROP}
    assert Flag.objects.get(kind=Flag.Kind.DROP).detail == "fell 3 points (40 → 37)"


def test_it_does_not_raise_a_drop_of_2_points(alice_client):
    history(alice_client, [40, 38])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_compares_with_the_previous_check_in_skipping_unrated_sessions(alice_client):
    history(alice_client, [40, None, 37])
    recompute(alice_client)
    assert Flag.Kind.DROP in open_kinds(alice_client)


def test_it_orders_check_ins_by_session_not_by_when_they_were_answered(alice_client):
    older, newer = session_on(alice_client, days_ago=14), session_on(alice_client, days_ago=7)
    checkin(newer, 40)
    late = checkin(older, 37)
    late.submitted_at = timezone.now()  # answered last, about the older session
    late.save()
    recompute(alice_client)
    # In session order the totals rose 37 → 40: no drop.
    assert Flag.Kind.DROP not in open_kinds(alice_client)


# --- Declining trend --------------------------------------------------------------------

def test_it_raises_a_declining_trend_for_three_check_ins_each_lower_than_the_last(alice_client):
    history(alice_client, [40, 39, 38])
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.DECLINING}
    assert Flag.objects.get().detail == "3 falling totals: 40 → 39 → 38"


def test_it_does_not_count_an_equal_total_as_lower(alice_client):
    history(alice_client, [40, 39, 39])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_needs_three_check_ins_for_a_trend(alice_client):
    history(alice_client, [40, 39])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_looks_only_at_the_latest_run(alice_client):
    history(alice_client, [40, 39, 38, 39])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_follows_a_clinic_that_asks_for_a_longer_run(alice_client):
    clinic = alice_client.clinic
    clinic.declining_run = 4
    clinic.save()
    history(alice_client, [39, 40, 39, 38])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()
    checkin(session_on(alice_client, days_ago=0), 37)
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.DECLINING}


# --- Discrepancy ------------------------------------------------------------------------

@pytest.mark.parametrize(("client_total", "therapist_total", "raised"), [(34, 40, True), (35, 40, False)])
def test_it_raises_a_discrepancy_from_6_points_not_5(alice_client, client_total, therapist_total, raised):
    history(alice_client, [client_total], therapist_totals=[therapist_total])
    recompute(alice_client)
    assert (Flag.Kind.DISCREPANCY in open_kinds(alice_client)) is raised


def test_it_does_not_raise_a_discrepancy_when_the_client_rates_higher(alice_client):
    history(alice_client, [40], therapist_totals=[30])
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


# --- No feedback ------------------------------------------------------------------------

def test_it_raises_no_feedback_when_the_last_two_invitations_expired(alice_client):
    s1, s2, s3 = history(alice_client, [None, None, None])
    invitation(s1, S.ANSWERED)
    invitation(s2, S.EXPIRED)
    invitation(s3, S.EXPIRED)
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.NO_FEEDBACK}


def test_it_does_not_raise_no_feedback_for_one_expired_invitation(alice_client):
    s1, s2 = history(alice_client, [None, None])
    invitation(s1, S.ANSWERED)
    invitation(s2, S.EXPIRED)
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_counts_a_sent_invitation_past_its_expiry_as_unanswered(alice_client):
    s1, s2 = history(alice_client, [None, None])
    invitation(s1, S.EXPIRED)
    invitation(s2, S.SENT, expires_in_days=-1)
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.NO_FEEDBACK}


def test_it_waits_for_an_invitation_that_can_still_be_answered(alice_client):
    s1, s2, s3 = history(alice_client, [None, None, None])
    invitation(s1, S.EXPIRED)
    invitation(s2, S.EXPIRED)
    invitation(s3, S.SENT, expires_in_days=3)
    recompute(alice_client)
    # The two most recent *finished* invitations expired: still no feedback.
    assert open_kinds(alice_client) == {Flag.Kind.NO_FEEDBACK}


def test_it_does_not_count_failed_or_cancelled_invitations(alice_client):
    s1, s2, s3 = history(alice_client, [None, None, None])
    invitation(s1, S.EXPIRED)
    invitation(s2, S.FAILED)
    invitation(s3, S.CANCELLED)
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


# --- Attendance -------------------------------------------------------------------------

def attendance_history(client, marks):
    """Sessions oldest first: 'x' missed (no-show), 'l' late cancel, 'c' cancelled with
    notice, '.' attended."""
    kinds = {"x": A.NO_SHOW, "l": A.LATE_CANCEL, "c": A.CANCELLED, ".": A.ATTENDED}
    n = len(marks)
    for i, mark in enumerate(marks):
        session_on(client, days_ago=1 + (n - 1 - i) * 7, attendance=kinds[mark])


def test_it_raises_attendance_for_2_missed_of_the_last_5(alice_client):
    attendance_history(alice_client, "..x.l")
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.ATTENDANCE}
    assert Flag.objects.get().detail == "2 missed of the last 5 sessions"


def test_it_does_not_raise_attendance_for_1_missed_of_5(alice_client):
    attendance_history(alice_client, "....x")
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_leaves_a_miss_in_the_6th_oldest_session_outside_the_window(alice_client):
    attendance_history(alice_client, "x....x")
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_does_not_count_cancellations_with_notice_as_missed(alice_client):
    attendance_history(alice_client, "..c.c")
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_ignores_sessions_still_to_come(alice_client):
    attendance_history(alice_client, "...x.")
    upcoming = session_on(alice_client, days_ago=-3, attendance=A.NO_SHOW)
    assert upcoming.scheduled_start > timezone.now()
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


# --- Lifecycle --------------------------------------------------------------------------

def test_it_changes_nothing_when_recomputed_twice(alice_client):
    s = history(alice_client, [40, 39, 34], therapist_totals=[None, None, 40])
    invitation(s[0], S.EXPIRED)
    attendance_history(alice_client, "xx")
    raised, resolved = recompute(alice_client)
    before = list(Flag.objects.order_by("id").values())
    assert {f.kind for f in raised} == {
        Flag.Kind.LOW_ALLIANCE, Flag.Kind.DROP, Flag.Kind.DECLINING, Flag.Kind.DISCREPANCY, Flag.Kind.ATTENDANCE,
    }
    assert recompute(alice_client) == ([], [])
    assert list(Flag.objects.order_by("id").values()) == before


def test_it_clears_a_flag_when_the_condition_no_longer_holds_and_keeps_it_in_history(alice_client):
    history(alice_client, [35])
    recompute(alice_client)
    checkin(session_on(alice_client, days_ago=0), 38)
    raised, resolved = recompute(alice_client)
    assert [f.kind for f in resolved] == [Flag.Kind.LOW_ALLIANCE]
    flag = Flag.objects.get(client=alice_client)
    assert flag.resolved_at is not None
    assert open_kinds(alice_client) == set()


def test_it_raises_again_after_clearing_as_a_new_flag(alice_client):
    checkin(session_on(alice_client, days_ago=15), 35)
    recompute(alice_client)
    checkin(session_on(alice_client, days_ago=8), 38)
    recompute(alice_client)
    checkin(session_on(alice_client, days_ago=1), 30)
    recompute(alice_client)
    low = Flag.objects.filter(client=alice_client, kind=Flag.Kind.LOW_ALLIANCE).order_by("id")
    assert [f.resolved_at is None for f in low] == [False, True]


def test_it_keeps_an_unacknowledged_flag_open_and_up_to_date_while_the_condition_holds(alice_client):
    history(alice_client, [35])
    recompute(alice_client)
    first = Flag.objects.get()
    checkin(session_on(alice_client, days_ago=0), 34)
    recompute(alice_client)
    flag = Flag.objects.get(kind=Flag.Kind.LOW_ALLIANCE)
    assert flag.pk == first.pk and flag.detail == "total 34/40"


def test_it_raises_a_new_flag_for_a_new_low_session_after_an_acknowledgement(alice_client):
    history(alice_client, [35])
    recompute(alice_client)
    first = Flag.objects.get()
    Flag.objects.filter(pk=first.pk).update(acknowledged_at=timezone.now(), response=Flag.Response.DISCUSSED)
    checkin(session_on(alice_client, days_ago=0), 35)
    recompute(alice_client)
    first.refresh_from_db()
    assert first.resolved_at is not None
    assert Flag.objects.filter(kind=Flag.Kind.LOW_ALLIANCE, resolved_at__isnull=True).exclude(pk=first.pk).exists()


def test_it_respects_custom_clinic_thresholds(alice_client):
    clinic = alice_client.clinic
    clinic.low_total_below, clinic.low_dimension_below, clinic.drop_points = 30, 5, 6
    clinic.save()
    history(alice_client, [40, 35])  # low and a drop by default; neither here
    recompute(alice_client)
    assert open_kinds(alice_client) == set()
    clinic.low_total_below = 36
    clinic.save()
    # The caller's client object still has the old clinic in memory: the recompute
    # reads the thresholds fresh.
    recompute(alice_client)
    assert open_kinds(alice_client) == {Flag.Kind.LOW_ALLIANCE}


def test_it_clears_every_flag_of_a_discharged_client(alice_client):
    history(alice_client, [30])
    recompute(alice_client)
    alice_client.status, alice_client.discharged_at = "discharged", timezone.now()
    alice_client.save()
    recompute(alice_client)
    assert open_kinds(alice_client) == set()


def test_it_spreads_helper_totals_evenly_across_dimensions():
    assert scores(35) == {"trust": 9, "empathy": 9, "boundaries": 9, "collaboration": 8}


def test_it_keeps_an_acknowledged_attendance_flag_open_as_acknowledged_until_attendance_recovers(alice_client):
    attendance_history(alice_client, "...xx")
    recompute(alice_client)
    flag = Flag.objects.get()
    Flag.objects.filter(pk=flag.pk).update(acknowledged_at=timezone.now(), response=Flag.Response.FREQUENCY)
    session_on(alice_client, days_ago=0.5, attendance=A.NO_SHOW)
    assert recompute(alice_client) == ([], [])
    flag.refresh_from_db()
    assert flag.is_open and flag.detail == "2 missed of the last 5 sessions"  # what the therapist acknowledged
    for days in (0.4, 0.3, 0.2, 0.1):
        session_on(alice_client, days_ago=days)
    raised, resolved = recompute(alice_client)
    assert resolved == [flag] and raised == []
