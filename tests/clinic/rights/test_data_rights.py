"""Data rights: export, erase, retention."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from audit.models import AuditEvent
from clients.models import Client
from sessions.models import Session, SessionNote
from tests.factories import CheckInFactory, ClientFactory, SessionFactory

pytestmark = pytest.mark.django_db

MARKER = "NOTE-MARKER-7f3c"


@pytest.fixture
def history(alice_client, alice):
    s1 = SessionFactory(client=alice_client)
    s2 = SessionFactory(client=alice_client, scheduled_start=timezone.now() - timedelta(days=8))
    note = SessionNote(session=s1, author=alice)
    note.text = MARKER
    note.save()
    CheckInFactory(session=s1, comment="helpful session")
    CheckInFactory(session=s2, source="therapist")
    SurveyInvitation.objects.create(session=s1, client=alice_client, token_hash="f" * 64, due_at=timezone.now(), status="answered")
    Flag.objects.create(client=alice_client, kind="drop", session=s1, detail="-4")
    return alice_client


def _json(response):
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    return json.loads(b"".join(response.streaming_content) if response.streaming else response.content)


def test_a_clinic_admin_exports_everything_but_notes(client, login, carol, history):
    login(client, carol)
    data = _json(client.get(reverse("client_export_json", args=[history.pk])))
    assert data["client"]["display_name"] == "J.D."
    assert len(data["sessions"]) == 2 and len(data["checkins"]) == 2 and len(data["flags"]) == 1
    # The client's comments are for their therapist: not in the admin's plain export.
    assert all("comment" not in c for c in data["checkins"]) and "helpful session" not in json.dumps(data)
    assert data["invitations"][0]["status"] == "answered"
    raw = json.dumps(data)
    assert MARKER not in raw and "token_hash" not in raw and "f" * 64 not in raw
    assert all("note" not in s for s in data["sessions"])
    event = AuditEvent.objects.get(action="client.export")
    assert event.actor == carol and event.detail["notes"] == 0 and event.detail["comments_included"] is False


def test_a_subject_access_export_includes_the_clients_comments_and_the_audit_says_so(client, login, carol, history):
    login(client, carol)
    page = client.get(reverse("rights_index")).content.decode()
    assert "?include=comments" in page and "subject-access request" in page
    response = client.get(reverse("client_export_json", args=[history.pk]) + "?include=comments")
    data = _json(response)
    assert "subject-access" in response["Content-Disposition"]
    assert sorted(c["comment"] for c in data["checkins"]) == ["", "helpful session"]
    assert MARKER not in json.dumps(data)
    event = AuditEvent.objects.get(action="client.export")
    assert event.detail["comments_included"] is True and "helpful session" not in json.dumps(event.detail)


def test_the_author_therapist_exports_with_their_own_notes_only(client, login, alice, bob, history):
    other = SessionFactory(client=history, therapist=bob)
    note = SessionNote(session=other, author=bob)
    note.text = "bob's private words"
    note.save()
    login(client, alice)
    data = _json(client.get(reverse("client_export_with_my_notes", args=[history.pk])))
    notes = [s.get("note") for s in data["sessions"]]
    assert MARKER in notes and "bob's private words" not in json.dumps(data)


@pytest.mark.parametrize("who,status", [("alice", 403), ("bob", 403), ("mallory", 403)])
def test_only_clinic_admins_use_the_admin_export(client, login, request, history, who, status):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("client_export_json", args=[history.pk])).status_code == status


@pytest.mark.parametrize("who,status", [("bob", 404), ("carol", 403), ("mallory", 404)])
def test_only_the_clients_therapist_exports_with_notes(client, login, request, history, who, status):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("client_export_with_my_notes", args=[history.pk])).status_code == status


def test_another_clinics_admin_gets_404(client, login, history, other_clinic):
    from tests.factories import UserFactory

    admin = UserFactory(clinic=other_clinic, role="clinic_admin")
    login(client, admin)
    assert client.get(reverse("client_export_json", args=[history.pk])).status_code == 404
    assert client.post(reverse("client_erase", args=[history.pk]), {"confirm": "J.D."}).status_code == 404
    assert Client.objects.filter(pk=history.pk).exists()


def test_erasure_needs_the_typed_name(client, login, carol, history):
    login(client, carol)
    page = client.get(reverse("client_erase", args=[history.pk]))
    assert page.status_code == 200 and page.context["counts"]["therapy_sessions.session"] == 2
    response = client.post(reverse("client_erase", args=[history.pk]), {"confirm": "j.d"})
    assert response.status_code == 400
    assert Client.objects.filter(pk=history.pk).exists()


def test_erasure_removes_everything_and_leaves_an_audit_row_without_data(client, login, carol, history):
    pk = history.pk
    session_ids = sorted(Session.objects.filter(client=history).values_list("pk", flat=True))
    login(client, carol)
    response = client.post(reverse("client_erase", args=[pk]), {"confirm": " J.D. "})
    assert response.status_code == 302
    assert not Client.objects.filter(pk=pk).exists()
    for model in (Session, SessionNote, CheckIn, SurveyInvitation, Flag):
        assert not model.objects.filter(pk__in=[]).exists()
    assert Session.objects.filter(client_id=pk).count() == 0
    assert SessionNote.objects.filter(session_id__in=session_ids).count() == 0
    assert CheckIn.objects.filter(client_id=pk).count() == 0
    assert SurveyInvitation.objects.filter(client_id=pk).count() == 0
    assert Flag.objects.filter(client_id=pk).count() == 0
    event = AuditEvent.objects.get(action="client.erase")
    assert (event.object_type, event.object_id, event.actor) == ("client", str(pk), carol)
    assert event.detail["deleted"]["clients.client"] == 1
    assert event.detail["deleted"]["therapy_sessions.sessionnote"] == 1
    assert sorted(event.detail["session_ids"]) == session_ids
    raw = json.dumps(event.detail)
    assert "J.D." not in raw and MARKER not in raw and "helpful" not in raw


def _discharged(therapist, days_ago):
    return ClientFactory(therapist=therapist, status="discharged", discharged_at=timezone.now() - timedelta(days=days_ago))


def test_retention_purges_only_discharged_clients_past_the_period(alice, settings, capsys):
    settings.RETENTION_DAYS_AFTER_DISCHARGE = 365
    old = _discharged(alice, 400)
    SessionFactory(client=old)
    recent = _discharged(alice, 100)
    active = ClientFactory(therapist=alice)
    call_command("purge_expired_clients", "--dry-run")
    assert "would erase 1 client" in capsys.readouterr().out
    assert Client.objects.filter(pk=old.pk).exists()
    call_command("purge_expired_clients")
    assert not Client.objects.filter(pk=old.pk).exists()
    assert Client.objects.filter(pk__in=[recent.pk, active.pk]).count() == 2
    event = AuditEvent.objects.get(action="client.erase")
    assert event.actor is None and event.detail["reason"] == "retention" and event.clinic == alice.clinic


def test_the_default_retention_is_about_seven_years(settings):
    from config.settings import base

    assert base.RETENTION_DAYS_AFTER_DISCHARGE == 2557
