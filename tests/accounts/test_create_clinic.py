"""A new deployment opens its first clinic from the command line, and its admin sets a
password through the single-use link the command prints."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Clinic, User
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def create(**options):
    out = StringIO()
    call_command("create_clinic", stdout=out, **options)
    return out.getvalue()


def test_the_first_admin_sets_a_password_from_the_printed_link_and_can_log_in(client, settings):
    output = create(name="Harbour Clinic", admin_email="Lead@Harbour.example", admin_name="Sam Lead",
                    timezone="Europe/London")
    clinic = Clinic.objects.get(name="Harbour Clinic")
    admin = User.objects.get(email="lead@harbour.example")
    assert (admin.clinic, admin.role, admin.has_usable_password()) == (clinic, "clinic_admin", False)
    assert clinic.timezone == "Europe/London"
    assert AuditEvent.objects.filter(action="clinic.create", clinic=clinic).count() == 1

    link = re.search(re.escape(settings.SITE_URL) + r"(/\S+)", output).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200
    password = "a-long-harbour-password-2026"
    response = client.post(form.redirect_chain[-1][0] if form.redirect_chain else link,
                           {"new_password1": password, "new_password2": password})
    assert response.status_code == 302
    admin.refresh_from_db()
    assert admin.check_password(password)


def test_an_existing_email_or_bad_time_zone_creates_nothing():
    create(name="Harbour Clinic", admin_email="lead@harbour.example", admin_name="Sam Lead")
    with pytest.raises(CommandError, match="already exists"):
        create(name="Second Clinic", admin_email="LEAD@harbour.example", admin_name="Other")
    with pytest.raises(CommandError, match="Nothing was created. timezone"):
        create(name="Third Clinic", admin_email="third@example.org", admin_name="Third", timezone="Mars/Olympus")
    assert list(Clinic.objects.values_list("name", flat=True)) == ["Harbour Clinic"]
    assert User.objects.count() == 1
