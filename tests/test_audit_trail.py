"""The audit trail: append-only, browsable per clinic by its admin, and closed to others."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_record, client_ip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_model_refuses_to_update_or_delete(alice):
    event = audit_record(action="client.view", actor=alice)
    event.action = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


def test_postgresql_refuses_update_and_delete_even_by_raw_sql(alice, require_postgres):
    from django.db.utils import InternalError

    event = audit_record(action="client.view", actor=alice)
    for sql in ("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", "DELETE FROM audit_auditevent WHERE id = %s"):
        with pytest.raises(InternalError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
    for qs_call in (lambda: AuditEvent.objects.filter(pk=event.pk).update(action="x"),
                    lambda: AuditEvent.objects.filter(pk=event.pk).delete()):
        with pytest.raises(InternalError):
            with transaction.atomic():
                qs_call()
    assert AuditEvent.objects.get(pk=event.pk).action == "client.view"


def test_the_client_address_ignores_what_the_client_claims(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(request) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_ip(request) == "203.0.113.7"


def test_a_clinic_admin_browses_their_clinic_only(client, login, alice, carol, mallory):
    audit_record(action="client.view", actor=alice, detail={"n": 1})
    audit_record(action="client.view", actor=mallory)
    audit_record(action="platform.thing")
    login(client, carol)
    response = client.get(reverse("audit_list"))
    assert response.status_code == 200
    events = list(response.context["page"])
    assert {e.clinic_id for e in events} == {carol.clinic_id}
    assert all(e.actor != mallory for e in events)


def test_the_trail_filters_by_actor_action_object_and_dates(client, login, alice, bob, carol):
    audit_record(action="client.view", actor=alice, obj=alice)
    audit_record(action="session.update", actor=bob, obj=bob)
    old = AuditEvent.objects.create(clinic=alice.clinic, actor=alice, action="client.view", at=timezone.now() - timedelta(days=40))
    login(client, carol)

    def actions(**params):
        return [(e.action, e.actor_id) for e in client.get(reverse("audit_list"), params).context["page"]]

    assert actions(actor=bob.pk) == [("session.update", bob.pk)]
    assert ("client.view", alice.pk) in actions(action="client.view")
    assert actions(object_type="user", object_id=str(bob.pk)) == [("session.update", bob.pk)]
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert all(e.pk != old.pk for e in client.get(reverse("audit_list"), {"date_from": since}).context["page"])
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert [e.pk for e in client.get(reverse("audit_list"), {"date_to": until}).context["page"]] == [old.pk]


def test_the_trail_is_paginated(client, login, carol):
    AuditEvent.objects.bulk_create([AuditEvent(clinic=carol.clinic, action="x.y") for _ in range(120)])
    login(client, carol)
    page = client.get(reverse("audit_list"), {"page": 3}).context["page"]
    assert page.number == 3 and page.paginator.num_pages == 3


@pytest.mark.parametrize("who", ["alice", "mallory"])
def test_therapists_may_not_see_the_trail(client, login, who, request, carol):
    login(client, request.getfixturevalue(who))
    assert client.get(reverse("audit_list")).status_code == 403
    assert client.get(reverse("audit_lockouts")).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("audit_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_clinic_admin_sees_and_unlocks_a_locked_out_colleague(client, login, alice, carol, mallory):
    for i in range(5):
        client.post(reverse("login"), {"username": alice.email, "password": "wrong-wrong-1"}, REMOTE_ADDR=f"10.3.0.{i}")
        client.post(reverse("login"), {"username": mallory.email, "password": "wrong-wrong-1"}, REMOTE_ADDR=f"10.4.0.{i}")
    login(client, carol)
    page = client.get(reverse("audit_list"))
    assert b"lockout-note" in page.content and alice.email.encode() in page.content
    assert mallory.email.encode() not in page.content
    assert client.get(reverse("audit_lockouts")).context["locked"] == [alice]
    # Another clinic's user cannot be unlocked from here.
    assert client.post(reverse("audit_lockout_unlock", args=[mallory.pk])).status_code == 404
    assert client.post(reverse("audit_lockout_unlock", args=[alice.pk])).status_code == 302
    assert client.get(reverse("audit_lockouts")).context["locked"] == []
    assert AuditEvent.objects.filter(action="auth.unlock", object_id=str(alice.pk), actor=carol).exists()


def test_staff_changes_made_in_a_request_are_recorded_with_field_names(client, login, password):
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True, clinic=None, role="clinic_admin")
    target = UserFactory(email="t@example.com")
    login(client, root)
    url = reverse("admin:accounts_user_change", args=[target.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions", "password")}
    data.update(full_name="Renamed", role="clinic_admin", clinic=target.clinic_id,
                date_joined_0=target.date_joined.date().isoformat(), date_joined_1="00:00:00")
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    event = AuditEvent.objects.get(action="user.update", object_id=str(target.pk))
    assert event.actor == root and set(event.detail["fields"]) >= {"full_name", "role"}
    assert AuditEvent.objects.filter(action="admin.change", actor=root).exists()


def test_a_clinic_admin_resets_a_colleagues_lost_authenticator(client, login, alice, carol, mallory, password):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=alice, name="phone", confirmed=True)
    TOTPDevice.objects.create(user=mallory, name="phone", confirmed=True)
    # Alice is logged in elsewhere (the lost phone's owner, or whoever has it).
    alices_browser = login(client.__class__(), alice)
    assert alices_browser.get(reverse("caseload")).status_code == 200
    login(client, carol)
    assert client.post(reverse("audit_two_factor_reset", args=[mallory.pk])).status_code == 404
    assert client.post(reverse("audit_two_factor_reset", args=[alice.pk])).status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert TOTPDevice.objects.filter(user=mallory).exists()
    assert AuditEvent.objects.filter(action="mfa.reset", object_id=str(alice.pk), actor=carol).exists()
    # The session that device verified is over: it must log in and enrol again.
    response = alices_browser.get(reverse("caseload"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    # Alice still needs her password, then enrols again.
    other = client.__class__()
    other.post(reverse("login"), {"username": alice.email, "password": password})
    assert other.get(reverse("home")).url == reverse("two_factor_setup")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_extreme_dates_in_the_filter_are_refused_not_crashed(client, login, carol, day):
    login(client, carol)
    response = client.get(reverse("audit_list"), {"date_from": day, "date_to": day})
    assert response.status_code == 200
    assert response.context["form"].errors
