"""Staff pages follow the staff member's language, or their clinic's, never the
browser's: a Spanish-speaking clinic sees its caseload and dashboard in Spanish, with
Spanish numbers and dates, and plural forms that agree."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Clinic, User
from alliance.models import SurveyInvitation
from audit.models import AuditEvent
from clinic.dashboards.figures import figures_recompute
from tests.alliance.history import checkin, invitation, session_on
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

S = SurveyInvitation.Status
MONTHS_ES = "ene|feb|mar|abr|may|jun|jul|ago|sep|oct|nov|dic"


def _spanish_clinic(clinic):
    Clinic.objects.filter(pk=clinic.pk).update(language="es")
    clinic.refresh_from_db()


def test_a_spanish_clinics_therapist_sees_the_caseload_in_spanish_whatever_the_browser_says(
    client, login, clinic, alice, alice_client
):
    _spanish_clinic(clinic)
    session = session_on(alice_client, days_ago=3)
    checkin(session, 31)
    login(client, User.objects.get(pk=alice.pk))
    response = client.get(reverse("caseload"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es" dir="ltr">' in html
    assert "Sus casos" in html and "Añadir un cliente" in html and "Última sesión" in html
    assert 'data-label="Según el cliente"' in html
    assert "Cerrar sesión" in html and "Casos" in html
    # Plural forms: one client, in Spanish.
    assert "1 cliente." in html
    # Dates in Spanish: the session's day with a Spanish month abbreviation.
    assert re.search(r"\b\d{1,2} (%s) \d{4}\b" % MONTHS_ES, html, re.IGNORECASE)
    assert "Your caseload" not in html


def test_the_plural_follows_the_count(client, login, clinic, alice, alice_client):
    _spanish_clinic(clinic)
    ClientFactory(therapist=alice, display_name="M.N.")
    login(client, User.objects.get(pk=alice.pk))
    html = client.get(reverse("caseload")).content.decode()
    assert "2 clientes." in html and "1 cliente." not in html


def test_a_spanish_clinic_admin_sees_the_dashboard_with_spanish_numbers(client, login, clinic, alice, carol, alice_client):
    _spanish_clinic(clinic)
    for days_ago, total in ((20, 30), (13, 33)):
        s = session_on(alice_client, days_ago=days_ago)
        checkin(s, total)
        invitation(s, S.ANSWERED)
    s = session_on(alice_client, days_ago=5)
    invitation(s, S.EXPIRED)
    login(client, User.objects.get(pk=carol.pk))
    # The rows above were written by factories, past the services that keep the figures.
    figures_recompute(clinic)
    html = client.get(reverse("clinic_dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # What people read, not the charts' JSON (machine numbers, drawn by Chart.js).
    html = html.split('<script id="dashboard-data"')[0]
    assert "Panel de la clínica" in html and "Por terapeuta" in html and "Tasa de respuesta" in html
    # Mean (30 + 33) / 2 = 31.5, written with a decimal comma; 2 of 3 answered = 67 %.
    assert ">31,5<" in html and "31.5" not in html
    assert ">67\u00a0%<" in html
    assert re.search(r"\d{1,2} (%s) \d{4} – \d{1,2} (%s) \d{4}" % (MONTHS_ES, MONTHS_ES), html, re.IGNORECASE)


def test_the_accounts_own_language_wins_over_the_clinics(client, login, clinic, alice):
    _spanish_clinic(clinic)
    User.objects.filter(pk=alice.pk).update(language="en")
    login(client, User.objects.get(pk=alice.pk))
    html = client.get(reverse("caseload"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Your caseload" in html and '<html lang="en" dir="ltr">' in html


def test_a_therapist_chooses_spanish_and_the_choice_is_audited(client, login, alice):
    login(client, alice)
    page = client.get(reverse("account_language"))
    assert page.status_code == 200 and "The clinic&#x27;s language (English)" in page.content.decode()
    response = client.post(reverse("account_language"), {"language": "es"}, follow=True)
    html = response.content.decode()
    assert User.objects.get(pk=alice.pk).language == "es"
    assert "Sus páginas están ahora en español." in html
    assert AuditEvent.objects.filter(action="user.language", actor=alice).exists()
    # A language staff pages are not written in is refused, and nothing changes.
    refused = client.post(reverse("account_language"), {"language": "ar"})
    assert refused.status_code == 400
    assert User.objects.get(pk=alice.pk).language == "es"


def test_the_clinic_admin_sets_the_clinics_language_and_sees_the_unvalidated_label(client, login, clinic, carol):
    login(client, carol)
    page = client.get(reverse("clinic_settings")).content.decode()
    assert "our own translations and have not been validated" in page
    for language in ("Spanish", "French", "German", "Brazilian Portuguese", "Arabic"):
        assert language in page
    data = {f: getattr(clinic, f) for f in (
        "survey_delay_hours", "reminder_after_hours", "expiry_days", "max_send_attempts", "low_total_below",
        "low_dimension_below", "drop_points", "declining_run", "discrepancy_points", "no_feedback_expired",
        "attendance_missed", "attendance_window", "email_checkins", "sms_checkins")}
    assert client.post(reverse("clinic_settings"), {**data, "language": "es"}).status_code == 302
    assert Clinic.objects.get(pk=clinic.pk).language == "es"
    page = client.get(reverse("clinic_settings")).content.decode()
    assert "traducciones nuestras y no han sido validadas" in page


def test_the_unlock_error_counts_tries_in_the_staff_language(client, login, clinic, alice, alice_client):
    """ngettext: "Le queda 1 intento" against "Le quedan 2 intentos"."""
    from tests.factories import SessionFactory

    _spanish_clinic(clinic)
    alice = User.objects.get(pk=alice.pk)
    session = SessionFactory(client=alice_client, therapist=alice, scheduled_start=timezone.now())
    login(client, alice)
    assert client.post(reverse("handover_start", args=[session.pk])).status_code == 302
    first = client.post(reverse("handover_unlock"), {"password": "wrong"}).content.decode()
    assert re.search(r"Le quedan \d+ intentos antes", first)
    last = ""
    for _ in range(10):
        response = client.post(reverse("handover_unlock"), {"password": "wrong"})
        if response.status_code != 400:
            break
        last = response.content.decode()
    assert "Le queda 1 intento antes" in last
