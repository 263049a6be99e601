"""Give the demo staff (from `seed_demo`) an authenticator device with a fixed,
publicly known key, so `make run` works without a phone: `manage.py demo_otp_code`
prints the current codes, or add DEMO_TOTP_BASE32 to any authenticator app.

Demo only: the key is in the source code. Idempotent."""

import base64

from django.core.management.base import BaseCommand
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from alliance.management.commands.seed_demo import ADMIN_EMAIL, SUPERVISOR, THERAPISTS

DEMO_TOTP_KEY = b"rapport-demo-ONLY-20".hex()  # 20 bytes = 160 bits, like a real TOTP key
DEMO_TOTP_BASE32 = base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY)).decode("ascii")
DEMO_DEVICE_NAME = "Demo authenticator (public key, demo only)"


def demo_emails():
    return [ADMIN_EMAIL, *[email for email, _ in THERAPISTS], SUPERVISOR[0]]


class Command(BaseCommand):
    help = "Give the demo staff a TOTP device with a fixed demo key (idempotent)."

    def handle(self, *args, **options):
        created = 0
        for user in User.objects.filter(email__in=demo_emails()):
            _, made = TOTPDevice.objects.get_or_create(
                user=user, name=DEMO_DEVICE_NAME, defaults={"key": DEMO_TOTP_KEY, "confirmed": True}
            )
            created += made
        self.stdout.write(f"Demo authenticator devices: {created} created.")
