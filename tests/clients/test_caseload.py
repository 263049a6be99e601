from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from clients.models import Client
from sessions.models import Session
from tests.clients.factories import FlagFactory, InvitationFactory
from tests.factories import CheckInFactory, ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db


def test_it_lists_the_therapists_active_clients_only(client, login, alice, alice_client, bob_client):
    ClientFactory(therapist=alice, display_name="Gone Away", status="discharged", discharged_at=timezone.now())
    login(client, alice)
    response = client.get(reverse("caseload"))
    assert response.status_code == 200
    assert b"J.D." in response.content
    assert b"K.L." not in response.content  # bob's client
    assert b"Gone Away" not in response.content


def test_it_is_the_therapists_home(client, login, alice):
    login(client, alice)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("caseload")


def test_it_is_not_the_clinic_admins_home(client, login, carol):
    login(client, carol)
    home = client.get(reverse("home"))
    assert home.status_code in (200, 302)
    assert home.get("Location") != reverse("caseload")
    assert client.get(reverse("caseload")).status_code == 403


def test_it_shows_latest_totals_flags_sessions_and_survey_state(client, login, alice, alice_client):
    now = timezone.now()
    older = SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=14))
    CheckInFactory(session=older, trust=10, empathy=10, boundaries=10, collaboration=10)
    last = SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=7))
    CheckInFactory(session=last, trust=8, empathy=8, boundaries=8, collaboration=7)  # 31
    CheckInFactory(session=last, source=CheckIn.Source.THERAPIST, trust=9, empathy=9, boundaries=9, collaboration=9)
    booked = SessionFactory(client=alice_client, scheduled_start=now + timedelta(days=3), attendance="booked")
    InvitationFactory(session=last, status=SurveyInvitation.Status.ANSWERED)
    FlagFactory(client=alice_client, kind=Flag.Kind.LOW_ALLIANCE)
    FlagFactory(client=alice_client, kind=Flag.Kind.DROP)
    FlagFactory(client=alice_client, kind=Flag.Kind.ATTENDANCE, resolved_at=now)
    login(client, alice)

    response = client.get(reverse("caseload"))
    row = response.context["page"].object_list[0]
    assert row.client_total == 31
    assert row.therapist_total == 36
    assert {f.kind for f in row.open_flags} == {"low_alliance", "drop"}
    assert row.last_session_at == last.scheduled_start
    assert row.next_session_at == booked.scheduled_start
    assert row.last_invitation_status == "answered"
    html = response.content.decode()
    assert "Low alliance" in html and "Drop" in html and "Attendance" not in html
    assert "Answered" in html
    assert 'aria-label="Last 2 client totals out of 40: 40, 31"' in html
    assert "<svg" in html and "<script>" not in html


def test_booked_sessions_are_the_next_session_and_never_the_last(client, login, alice, alice_client):
    """The next session is the soonest booked one (not a session cancelled in advance);
    a booked one whose time has passed is not the last session held: it asks for its
    attendance instead."""
    now = timezone.now()
    held = SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=7))
    SessionFactory(client=alice_client, scheduled_start=now - timedelta(days=1), attendance="booked")
    SessionFactory(client=alice_client, scheduled_start=now + timedelta(days=2), attendance="cancelled")
    soonest = SessionFactory(client=alice_client, scheduled_start=now + timedelta(days=6), attendance="booked")
    SessionFactory(client=alice_client, scheduled_start=now + timedelta(days=13), attendance="booked")
    login(client, alice)

    response = client.get(reverse("caseload"))
    row = response.context["page"].object_list[0]
    assert row.last_session_at == held.scheduled_start
    assert row.next_session_at == soonest.scheduled_start
    html = response.content.decode()
    assert timezone.localtime(soonest.scheduled_start).strftime("%-d %b %Y, %H:%M") in html
    assert "Needs attendance recorded" in html


def test_it_asks_for_no_attendance_when_every_booking_is_ahead(client, login, alice, alice_client):
    ahead = SessionFactory(client=alice_client, scheduled_start=timezone.now() + timedelta(days=1), attendance="booked")
    login(client, alice)
    response = client.get(reverse("caseload"))
    row = response.context["page"].object_list[0]
    assert (row.last_session_at, row.next_session_at) == (None, ahead.scheduled_start)
    assert "Needs attendance recorded" not in response.content.decode()


def test_it_says_opted_out_when_the_client_unsubscribed(client, login, alice, alice_client):
    InvitationFactory(session=SessionFactory(client=alice_client), status=SurveyInvitation.Status.SENT)
    alice_client.opted_out_at = timezone.now()
    alice_client.save()
    login(client, alice)
    assert "Opted out" in client.get(reverse("caseload")).content.decode()


def test_it_draws_at_most_eight_checkins_in_the_sparkline(client, login, alice, alice_client):
    start = timezone.now() - timedelta(days=100)
    for i in range(10):
        session = SessionFactory(client=alice_client, scheduled_start=start + timedelta(days=7 * i))
        CheckInFactory(session=session, trust=i, empathy=10, boundaries=10, collaboration=10)
    login(client, alice)
    html = client.get(reverse("caseload")).content.decode()
    assert 'aria-label="Last 8 client totals out of 40: 32, 33, 34, 35, 36, 37, 38, 39"' in html


def _urls_in(html):
    """Every address the page can request or send the browser to: links, form actions,
    scripts, styles, images."""
    import re

    return re.findall(r'(?:href|action|src|formaction)="([^"]*)"', html)


def test_it_searches_by_name_with_a_post_answered_by_the_page_itself(client, login, alice):
    ClientFactory(therapist=alice, display_name="Maria Lopez")
    ClientFactory(therapist=alice, display_name="Tom Berg")
    login(client, alice)
    response = client.post(reverse("caseload"), {"q": "lop"})
    assert response.status_code == 200  # no redirect, which would put the name in a URL
    assert [c.display_name for c in response.context["page"].object_list] == ["Maria Lopez"]
    html = response.content.decode()
    assert "Maria Lopez" in html and "Tom Berg" not in html and "1 client matches" in html
    assert 'value="lop"' in html  # the search box keeps what was typed
    assert not [url for url in _urls_in(html) if "lop" in url.lower() or "q=" in url]


def test_its_filter_form_posts_so_no_name_reaches_the_address(client, login, alice, alice_client):
    login(client, alice)
    html = client.get(reverse("caseload")).content.decode()
    assert '<form method="post" action="/caseload/" id="caseload-filter"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_it_ignores_a_name_in_the_address(client, login, alice):
    """An old bookmark (?q=…) finds no one: a search is only ever read from a POST body."""
    ClientFactory(therapist=alice, display_name="Maria Lopez")
    ClientFactory(therapist=alice, display_name="Tom Berg")
    login(client, alice)
    response = client.get(reverse("caseload"), {"q": "lop"})
    assert response.status_code == 200
    assert [c.display_name for c in response.context["page"].object_list] == ["Maria Lopez", "Tom Berg"]
    assert 'value="lop"' not in response.content.decode()


def test_it_pages_through_search_results_with_posts_not_links(client, login, alice):
    for i in range(30):
        ClientFactory(therapist=alice, display_name=f"Lopez {i:02}")
    ClientFactory(therapist=alice, display_name="Tom Berg")
    login(client, alice)
    first = client.post(reverse("caseload"), {"q": "lopez"})
    html = first.content.decode()
    assert "Page 1 of 2" in html
    assert '<button class="page-link" type="submit" form="caseload-filter" name="page" value="2">Next</button>' in html
    assert not [url for url in _urls_in(html) if "page=" in url or "lopez" in url.lower()]
    second = client.post(reverse("caseload"), {"q": "lopez", "page": "2"})
    assert [c.display_name for c in second.context["page"].object_list] == [f"Lopez {i:02}" for i in range(25, 30)]


def test_it_refuses_an_overlong_search_with_400_and_says_why(client, login, alice, alice_client):
    login(client, alice)
    response = client.post(reverse("caseload"), {"q": "x" * 101})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value has at most 100 characters" in html and "Those filters are not valid" in html


def test_the_other_filters_still_work_from_a_link(client, login, alice):
    """Modality, status and attention name no one, so they may stay in a GET query."""
    ClientFactory(therapist=alice, display_name="A", modality=Client.Modality.CBT)
    ClientFactory(therapist=alice, display_name="B", modality=Client.Modality.PSYCHODYNAMIC)
    login(client, alice)
    response = client.post(reverse("caseload"), {"modality": "psychodynamic"})
    assert [c.display_name for c in response.context["page"].object_list] == ["B"]


def test_it_filters_by_modality(client, login, alice):
    ClientFactory(therapist=alice, display_name="A", modality=Client.Modality.CBT)
    ClientFactory(therapist=alice, display_name="B", modality=Client.Modality.PSYCHODYNAMIC)
    login(client, alice)
    response = client.get(reverse("caseload"), {"modality": "psychodynamic"})
    assert [c.display_name for c in response.context["page"].object_list] == ["B"]


def test_it_filters_to_clients_needing_attention(client, login, alice):
    ClientFactory(therapist=alice, display_name="Calm")
    flagged = ClientFactory(therapist=alice, display_name="Flagged")
    resolved = ClientFactory(therapist=alice, display_name="Was flagged")
    FlagFactory(client=flagged)
    FlagFactory(client=resolved, resolved_at=timezone.now())
    login(client, alice)
    response = client.get(reverse("caseload"), {"attention": "on"})
    assert [c.display_name for c in response.context["page"].object_list] == ["Flagged"]


def test_it_lists_discharged_clients_on_request(client, login, alice, alice_client):
    ClientFactory(therapist=alice, display_name="Gone Away", status="discharged", discharged_at=timezone.now())
    login(client, alice)
    response = client.get(reverse("caseload"), {"status": "discharged"})
    assert [c.display_name for c in response.context["page"].object_list] == ["Gone Away"]


def test_it_refuses_an_unknown_modality_with_400(client, login, alice, alice_client):
    login(client, alice)
    response = client.get(reverse("caseload"), {"modality": "astrology"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_it_paginates_by_25(client, login, alice):
    ClientFactory.create_batch(30, therapist=alice)
    login(client, alice)
    first = client.get(reverse("caseload"))
    assert len(first.context["page"].object_list) == 25
    second = client.get(reverse("caseload"), {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert "Page 2 of 2" in second.content.decode()


def _caseload_of(therapist, n):
    """n clients, each with two past sessions (both rated, one with an invitation and a
    flag) and a future one, built in bulk so 200 clients stay quick."""
    now = timezone.now()
    clients = Client.objects.bulk_create(
        Client(
            clinic=therapist.clinic, therapist=therapist, display_name=f"Client {i:03}",
            modality="cbt", relationship_approach="supportive",
        )
        for i in range(n)
    )
    sessions = Session.objects.bulk_create(
        Session(client=c, therapist=therapist, scheduled_start=now + timedelta(days=d))
        for c in clients
        for d in (-14, -7, 7)
    )
    past = [s for s in sessions if s.scheduled_start < now]
    CheckIn.objects.bulk_create(
        CheckIn(session=s, client=s.client, source=source, trust=8, empathy=9, boundaries=9, collaboration=9)
        for s in past
        for source in ("client", "therapist")
    )
    SurveyInvitation.objects.bulk_create(
        SurveyInvitation(session=s, client=s.client, token_hash=f"{s.pk:064}", due_at=s.scheduled_start)
        for s in past[1::2]
    )
    Flag.objects.bulk_create(Flag(client=c, kind="low_alliance", severity=4) for c in clients)


def _caseload_queries(client, therapist, n, search=None):
    _caseload_of(therapist, n)
    client.get(reverse("caseload"))  # warm up the session and the user
    with CaptureQueriesContext(connection) as queries:
        if search is None:
            response = client.get(reverse("caseload"))
        else:
            response = client.post(reverse("caseload"), {"q": search})
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == min(n, 25)
    return [q["sql"] for q in queries.captured_queries]


def test_it_runs_the_same_number_of_queries_for_5_and_200_clients(client, login, alice, bob):
    login(client, alice)
    few = _caseload_queries(client, alice, 5)
    client.logout()
    login(client, bob)
    many = _caseload_queries(client, bob, 200)
    listing = "\n".join(f"{i}. {sql}" for i, sql in enumerate(many, 1))
    print(f"caseload queries: 5 clients={len(few)}, 200 clients={len(many)}")
    assert len(few) == len(many), f"5 clients: {len(few)} queries, 200 clients: {len(many)}\n{listing}"
    # Of those, the caseload's own: the paginator's count, the page of clients with
    # their numbers, their open flags, their recent check-ins. (The rest is the login
    # session, the user and their clinic, which middleware may change.) A new query
    # here needs a reason.
    own = [sql for sql in many if any(t in sql for t in ('"clients_client"', '"alliance_', '"therapy_sessions_'))]
    assert len(own) == 4, listing


def test_a_search_runs_the_same_number_of_queries_for_5_and_200_clients(client, login, alice, bob):
    login(client, alice)
    few = _caseload_queries(client, alice, 5, search="client")
    client.logout()
    login(client, bob)
    many = _caseload_queries(client, bob, 200, search="client")
    listing = "\n".join(f"{i}. {sql}" for i, sql in enumerate(many, 1))
    assert len(few) == len(many), f"5 clients: {len(few)} queries, 200 clients: {len(many)}\n{listing}"
    own = [sql for sql in many if any(t in sql for t in ('"clients_client"', '"alliance_', '"therapy_sessions_'))]
    assert len(own) == 4, listing
