"""Walk the main paths that read or change clinical data, settings or accounts, through
the real pages, and check each leaves an audit row saying who, what, which record, and
from where — with no note text or comment in it."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alliance.checkins.invitations import new_token
from alliance.models import Flag, SurveyInvitation
from audit.models import AuditEvent
from clients.models import Client as ClinicalClient
from tests.factories import ClientFactory, SessionFactory
from tests.security.forms_helper import form_data

pytestmark = pytest.mark.django_db

IP = "10.20.30.40"
NOTE = "AUDIT-WALK-NOTE-TEXT"


def _row(action, **match):
    rows = AuditEvent.objects.filter(action=action, **match)
    assert rows.exists(), f"no audit row {action} {match}; have {sorted(set(AuditEvent.objects.values_list('action', flat=True)))}"
    return rows.latest("id")


def test_every_main_write_path_leaves_an_audit_row(login, alice, bob, carol, password, settings):
    settings.LOGIN_RATE_PER_IP = "1000/m"
    web = Client(REMOTE_ADDR=IP)
    steps = []

    def check(action, actor, object_type=None, object_id=None, ip=IP):
        match = {"actor": actor} if actor is not None else {"actor__isnull": True}
        if object_type:
            match["object_type"] = object_type
        if object_id is not None:
            match["object_id"] = str(object_id)
        row = _row(action, **match)
        assert row.ip == ip, f"{action}: recorded address {row.ip}, expected {ip}"
        assert row.clinic_id == alice.clinic_id, f"{action} not filed under the clinic"
        steps.append(action)
        return row

    # Logins: failure, success, logout.
    web.post(reverse("login"), {"username": alice.email, "password": "wrong-password-1"})
    check("auth.login_failed", None, "user", alice.pk)
    web.post(reverse("login"), {"username": alice.email, "password": password})
    check("auth.login", alice, "user", alice.pk)
    web.post(reverse("logout"))
    check("auth.logout", alice, "user", alice.pk)

    login(web, alice)
    # Client: create, view, update.
    page = web.get(reverse("client_new"))
    data = form_data(page) | {"display_name": "W.K.", "email": "wk@example.org", "survey_consent": "on",
                              "language": "en", "modality": "cbt", "relationship_approach": "supportive"}
    assert web.post(reverse("client_new"), data).status_code == 302
    client = ClinicalClient.objects.get(display_name="W.K.")
    check("client.create", alice, "client", client.pk)
    web.get(reverse("client_detail", args=[client.pk]))
    check("client.view", alice, "client", client.pk)
    page = web.get(reverse("client_edit", args=[client.pk]))
    assert web.post(reverse("client_edit", args=[client.pk]), form_data(page) | {"modality": "humanistic"}).status_code == 302
    check("client.update", alice, "client", client.pk)

    # Session: log with a note and a therapist check-in, read the note, edit.
    page = web.get(reverse("session_new", args=[client.pk]))
    yesterday = timezone.localdate() - timedelta(days=1)
    data = form_data(page) | {"date": yesterday.isoformat(), "start_time": "10:00", "duration_minutes": 50,
                              "attendance": "attended", "format": "video", "note": NOTE,
                              "trust": 8, "empathy": 8, "boundaries": 9, "collaboration": 7}
    assert web.post(reverse("session_new", args=[client.pk]), data).status_code == 302
    session = client.sessions.get()
    check("session.create", alice, "session", session.pk)
    web.get(reverse("session_detail", args=[session.pk]))
    check("note.read", alice)
    page = web.get(reverse("session_edit", args=[session.pk]))
    data = form_data(page) | {"duration_minutes": 55}
    assert web.post(reverse("session_edit", args=[session.pk]), data).status_code == 302
    check("session.update", alice, "session", session.pk)

    # Flag: acknowledge.
    flag = Flag.objects.create(client=client, kind="drop", severity=5, session=session, detail="-4")
    response = web.post(reverse("flag_acknowledge", args=[flag.pk]), {"strategies": "invite_feedback", "note": "talked it over"})
    assert response.status_code == 302
    check("flag.acknowledge", alice, "flag", flag.pk)

    # The client's check-in by email link, then opting out (no actor: the client).
    other = SessionFactory(client=client, scheduled_start=timezone.now() - timedelta(days=2))
    token, digest = new_token()
    SurveyInvitation.objects.create(
        session=other, client=client, token_hash=digest, status="sent", due_at=timezone.now() - timedelta(hours=3),
        sent_at=timezone.now() - timedelta(hours=2), expires_at=timezone.now() + timedelta(days=5), attempts=1,
    )
    anonymous = Client(REMOTE_ADDR=IP)
    response = anonymous.post(reverse("survey_checkin", args=[token]),
                              {"trust": 6, "empathy": 7, "boundaries": 8, "collaboration": 5, "comment": "CLIENT-COMMENT"})
    assert response.status_code in (200, 302, 303)
    # A client acting by email link has no account: no address of theirs is kept. The
    # row is written by the after-answer sweep (alliance/flags/refresh.py).
    from alliance.flags.refresh import flags_refresh_pending

    flags_refresh_pending()
    check("checkin.submitted", None, ip=None)
    anonymous.post(reverse("survey_unsubscribe", args=[token]))
    check("client.opted_out", None, "client", client.pk, ip=None)

    # Discharge and reactivate.
    web.post(reverse("client_discharge", args=[client.pk]))
    check("client.discharge", alice, "client", client.pk)
    web.post(reverse("client_reactivate", args=[client.pk]))
    check("client.reactivate", alice, "client", client.pk)

    # Clinic admin: settings, staff invite, reassign, deactivate, export, erase.
    admin = Client(REMOTE_ADDR=IP)
    login(admin, carol)
    page = admin.get(reverse("clinic_settings"))
    assert admin.post(reverse("clinic_settings"), form_data(page) | {"survey_delay_hours": 2}).status_code == 302
    check("clinic.settings", carol)
    admin.post(reverse("clinic_staff_invite"), {"full_name": "New Colleague", "email": "colleague@example.com"})
    check("staff.invite", carol)
    bobs = ClientFactory(therapist=bob, display_name="B.C.")
    page = admin.get(reverse("clinic_staff_reassign", args=[bob.pk]))
    response = admin.post(reverse("clinic_staff_reassign", args=[bob.pk]), {"to_therapist": alice.pk, "clients": [bobs.pk]})
    assert response.status_code == 302
    check("client.reassign", carol)
    admin.post(reverse("clinic_staff_deactivate", args=[bob.pk]))
    check("staff.deactivate", carol)
    admin.get(reverse("client_export_json", args=[client.pk]))
    check("client.export", carol, "client", client.pk)
    admin.post(reverse("client_erase", args=[client.pk]), {"confirm": "W.K."})
    check("client.erase", carol, "client", client.pk)

    trail = json.dumps(list(AuditEvent.objects.values("action", "object_type", "object_id", "detail")))
    assert NOTE not in trail and "CLIENT-COMMENT" not in trail and "talked it over" not in trail
    print(f"\naudit walk: {len(steps)} write/read paths each left a row: {', '.join(steps)}")
