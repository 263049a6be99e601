"""Open a clinic on a new deployment: the clinic and its first clinic admin.

    manage.py create_clinic --name "Harbour Clinic" --admin-email lead@harbour.example \
        --admin-name "Sam Lead" --timezone Europe/London

The admin gets no password here: the command prints a single-use link to set one (valid
for STAFF_INVITE_TIMEOUT), and the first login enrols the second factor. From there the
admin invites therapists on /clinic/staff/. Nothing secret is typed on a command line.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Clinic, User
from accounts.services import staff_invite_link
from accounts.tokens import staff_invite_valid_hours
from audit.services import audit_record


class Command(BaseCommand):
    help = "Create a clinic and its first clinic admin, and print the admin's set-password link."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The clinic's name, as staff and clients see it.")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", required=True)
        parser.add_argument("--timezone", default="UTC", help="IANA name, e.g. Europe/London (default UTC).")

    def handle(self, *args, name, admin_email, admin_name, timezone, **options):
        email = admin_email.strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"An account with the email address {email} already exists.")
        clinic = Clinic(name=name.strip(), timezone=timezone)
        admin = User(email=email, full_name=admin_name.strip(), role=User.Role.CLINIC_ADMIN, clinic=clinic)
        admin.set_unusable_password()
        try:
            clinic.full_clean()
            with transaction.atomic():
                clinic.save()
                admin.clinic = clinic
                admin.full_clean()
                admin.save()
                audit_record(action="clinic.create", obj=clinic, clinic=clinic, detail={"admin": admin.pk})
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"Nothing was created. {problems}") from None
        self.stdout.write(f"Created clinic {clinic.name!r} (id {clinic.pk}) and its clinic admin {admin.email}.")
        hours = staff_invite_valid_hours()
        self.stdout.write(
            f"Send the admin this single-use link to set a password, within {hours} hour{'s' if hours > 1 else ''}"
            " (then they enrol the second factor; if it expires, set one with `manage.py changepassword <email>`):"
        )
        self.stdout.write(staff_invite_link(admin))
