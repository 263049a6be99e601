"""A supervisor reads their supervisees' caseloads, client charts, flags and calibration:
read-only, never a note or a comment, never another clinic or a colleague they do not
supervise, and every read is in the audit trail. The clinic admin assigns supervisees."""

import pytest
from django.urls import reverse

from accounts.models import Supervision
from alliance.flags.rules import flags_recompute_for_client
from audit.models import AuditEvent
from sessions.models import SessionNote
from tests.alliance.history import checkin, history, session_on
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(clinic, alice):
    sam = UserFactory(email="sam@example.com", full_name="Sam Supervisor", clinic=clinic, role="supervisor")
    Supervision.objects.create(clinic=clinic, supervisor=sam, therapist=alice)
    return sam


def test_it_shows_a_supervisee_and_their_client_with_no_note_or_comment(client, login, sam, alice, alice_client):
    history(alice_client, [38, 30], therapist_totals=[38, 39])
    session = session_on(alice_client, days_ago=0.5)
    checkin(session, 29, comment="SECRET-COMMENT")
    note = SessionNote(session=session, author=alice)
    note.text = "SECRET-NOTE"
    note.save()
    flags_recompute_for_client(client=alice_client)
    login(client, sam)
    home = client.get(reverse("home"), follow=True)
    assert home.redirect_chain[-1][0] == reverse("supervision_home")
    assert b"Alice Therapist" in home.content
    page = client.get(reverse("supervision_therapist", args=[alice.pk]))
    assert page.status_code == 200
    assert b"J.D." in page.content and b"Low alliance" in page.content
    chart = client.get(reverse("client_detail", args=[alice_client.pk]))
    assert chart.status_code == 200
    for response in (page, chart):
        assert b"SECRET-NOTE" not in response.content and b"SECRET-COMMENT" not in response.content
    # Read-only: no acknowledge form, no edit link, no link to a session page (a
    # supervisor may not open one: it is the therapist's record of the session).
    assert reverse("session_detail", args=[session.pk]).encode() not in chart.content
    assert client.get(reverse("session_detail", args=[session.pk])).status_code == 403
    assert b"/acknowledge/" not in chart.content and reverse("client_edit", args=[alice_client.pk]).encode() not in chart.content
    actions = list(AuditEvent.objects.filter(actor=sam).values_list("action", flat=True))
    assert {"supervision.list", "supervision.view", "client.view"} <= set(actions)


def test_it_answers_404_for_a_colleague_they_do_not_supervise_and_anyone_elsewhere(
    client, login, sam, bob, bob_client, mallory
):
    login(client, sam)
    assert client.get(reverse("supervision_therapist", args=[bob.pk])).status_code == 404
    assert client.get(reverse("client_detail", args=[bob_client.pk])).status_code == 404
    assert client.get(reverse("supervision_therapist", args=[mallory.pk])).status_code == 404
    # An assignment across clinics (written by hand; the service refuses it) gives nothing.
    Supervision.objects.create(clinic=sam.clinic, supervisor=sam, therapist=mallory)
    assert client.get(reverse("supervision_therapist", args=[mallory.pk])).status_code == 404


def test_it_refuses_supervisors_every_write(client, login, sam, alice_client):
    login(client, sam)
    assert client.get(reverse("caseload")).status_code == 403
    assert client.post(reverse("client_edit", args=[alice_client.pk]), {}).status_code == 403
    assert client.get(reverse("session_new", args=[alice_client.pk])).status_code == 403


def test_the_admin_assigns_supervisees_and_nothing_is_half_saved(client, login, carol, sam, alice, bob, mallory):
    login(client, carol)
    page = client.get(reverse("clinic_staff"))
    assert b"Save whom Sam Supervisor supervises" in page.content
    url = reverse("clinic_staff_supervisees", args=[sam.pk])
    response = client.post(url, {f"s{sam.pk}-therapists": [alice.pk, bob.pk]})
    assert response.status_code == 302
    assert set(Supervision.objects.filter(supervisor=sam).values_list("therapist_id", flat=True)) == {alice.pk, bob.pk}
    # Another clinic's therapist among the ticks: refused whole, with a message.
    response = client.post(url, {f"s{sam.pk}-therapists": [alice.pk, mallory.pk]})
    assert response.status_code == 400 and b"Select a valid choice" in response.content
    assert set(Supervision.objects.filter(supervisor=sam).values_list("therapist_id", flat=True)) == {alice.pk, bob.pk}
    assert client.post(url, {}).status_code == 302
    assert not Supervision.objects.filter(supervisor=sam).exists()
    assert AuditEvent.objects.filter(action="staff.supervisees", actor=carol).count() == 2
    # A therapist's id is not a supervisor's.
    assert client.post(reverse("clinic_staff_supervisees", args=[alice.pk]), {}).status_code == 404


def test_the_admin_invites_a_supervisor(client, login, carol, mailoutbox):
    login(client, carol)
    response = client.post(reverse("clinic_staff_invite"), {
        "full_name": "New Supervisor", "email": "newsup@example.com", "role": "supervisor",
    })
    assert response.status_code == 302
    from accounts.models import User

    assert User.objects.get(email="newsup@example.com").role == "supervisor"
    bad = client.post(reverse("clinic_staff_invite"), {"full_name": "X", "email": "x@example.com", "role": "clinic_admin"})
    assert bad.status_code == 400 and not User.objects.filter(email="x@example.com").exists()


def test_a_deactivated_supervisee_drops_out_of_reach(client, login, sam, alice, alice_client):
    alice.is_active = False
    alice.save()
    login(client, sam)
    assert client.get(reverse("supervision_therapist", args=[alice.pk])).status_code == 404
    assert client.get(reverse("client_detail", args=[alice_client.pk])).status_code == 404
