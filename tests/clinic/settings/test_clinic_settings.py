"""The clinic's survey timing and flag thresholds, edited by the clinic admin."""

import pytest
from django.urls import reverse

from accounts.models import Clinic
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def current(clinic, **changes):
    fields = ["survey_delay_hours", "reminder_after_hours", "expiry_days", "max_send_attempts", "low_total_below",
              "low_dimension_below", "drop_points", "declining_run", "discrepancy_points", "no_feedback_expired",
              "attendance_missed", "attendance_window", "email_checkins", "sms_checkins", "language"]
    data = {f: getattr(clinic, f) for f in fields}
    data.update(changes)
    return data


def test_it_shows_the_settings_with_the_defaults_caveat(client, login, carol):
    login(client, carol)
    response = client.get(reverse("clinic_settings"))
    assert response.status_code == 200
    assert b"conventions borrowed from comparable 0\xe2\x80\x9340 scales, not validated norms" in response.content


def test_it_saves_a_change_and_records_old_and_new_values(client, login, carol, clinic):
    login(client, carol)
    response = client.post(reverse("clinic_settings"), current(clinic, expiry_days=10, drop_points=4))
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert (clinic.expiry_days, clinic.drop_points) == (10, 4)
    event = AuditEvent.objects.get(action="clinic.settings")
    assert event.actor == carol
    assert event.detail["changed"] == {"expiry_days": {"old": 7, "new": 10}, "drop_points": {"old": 3, "new": 4}}


def test_it_records_nothing_when_nothing_changed(client, login, carol, clinic):
    login(client, carol)
    client.post(reverse("clinic_settings"), current(clinic))
    assert not AuditEvent.objects.filter(action="clinic.settings").exists()


@pytest.mark.parametrize(("field", "value"), [
    ("low_total_below", 41), ("low_dimension_below", 11), ("survey_delay_hours", 73), ("expiry_days", 0),
    ("declining_run", 1), ("drop_points", "many"), ("attendance_window", 21),
])
def test_it_refuses_values_out_of_range(client, login, carol, clinic, field, value):
    login(client, carol)
    response = client.post(reverse("clinic_settings"), current(clinic, **{field: value}))
    assert response.status_code == 400
    assert Clinic.objects.get(pk=clinic.pk).__dict__[field] == getattr(clinic, field)


def test_it_refuses_more_missed_sessions_than_the_window(client, login, carol, clinic):
    login(client, carol)
    response = client.post(reverse("clinic_settings"), current(clinic, attendance_missed=6, attendance_window=5))
    assert response.status_code == 400
    assert b"Cannot be more than the number of sessions looked at" in response.content


def test_it_does_not_let_therapists_change_settings(client, login, alice, clinic):
    login(client, alice)
    assert client.post(reverse("clinic_settings"), current(clinic, expiry_days=10)).status_code == 403
    clinic.refresh_from_db()
    assert clinic.expiry_days == 7


def test_it_puts_the_clinic_pages_in_the_admins_menu_only(client, login, carol, alice):
    login(client, carol)
    menu = client.get(reverse("clinic_settings")).content.decode()
    for name in ("clinic_dashboard", "clinic_staff", "clinic_settings"):
        assert f'href="{reverse(name)}"' in menu
    login(client, alice)
    menu = client.get(reverse("needs_attention")).content.decode()
    assert f'href="{reverse("clinic_dashboard")}"' not in menu


def test_the_clinic_chooses_the_channels_clients_are_asked_by(client, login, carol, clinic, alice):
    """Texts off: a client who takes only texts gets no check-in after a session (the
    therapist can still ask in the session); one who takes both gets the email."""
    from alliance.checkins.invitations import invitation_schedule_for_session
    from tests.factories import ClientFactory, SessionFactory

    login(client, carol)
    page = client.get(reverse("clinic_settings")).content.decode()
    assert "Ask by text message" in page and "Ask by email" in page
    data = current(clinic)
    data.pop("sms_checkins")
    assert client.post(reverse("clinic_settings"), data).status_code == 302
    clinic.refresh_from_db()
    assert (clinic.email_checkins, clinic.sms_checkins) == (True, False)
    text_only = ClientFactory(therapist=alice, email="", phone="+14155550140", sms_consent=True)
    both = ClientFactory(therapist=alice, phone="+14155550141", sms_consent=True)
    assert invitation_schedule_for_session(session=SessionFactory(client=text_only)) is None
    assert both.checkin_channels == ["email"]
    assert invitation_schedule_for_session(session=SessionFactory(client=both)) is not None
