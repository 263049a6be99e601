from django.core.management.base import BaseCommand

from accounts.management.commands.seed_demo_otp import DEMO_TOTP_BASE32

from .seed_demo import ADMIN_EMAIL, DEMO_PASSWORD, THERAPISTS


class Command(BaseCommand):
    help = "Print where Rapport runs and the demo logins (used by `make run`)."

    def handle(self, *args, **options):
        lines = [
            "",
            "Rapport is starting on http://127.0.0.1:8000/  (Ctrl-C stops everything)",
            "",
            f"  clinic admin:  {ADMIN_EMAIL}",
            *[f"  therapist:     {email}" for email, _ in THERAPISTS],
            f"  password (all): {DEMO_PASSWORD}",
            "",
            "  Two-step login: after the password Rapport asks for a 6-digit code. For the demo",
            "  users, get the current one with:",
            "      make otp        (or: .venv/bin/python manage.py demo_otp_code)",
            f"  or add this demo-only key to an authenticator app: {DEMO_TOTP_BASE32}",
            "",
            "  Emails to clients land in var/outbox/ and on http://127.0.0.1:8000/dev/outbox/",
            "",
        ]
        self.stdout.write("\n".join(lines))
