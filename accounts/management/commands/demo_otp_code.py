"""Print each demo user's current two-step login code (demo devices only)."""

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from .seed_demo_otp import DEMO_DEVICE_NAME, DEMO_TOTP_BASE32


class Command(BaseCommand):
    help = "Print the current TOTP code of every demo user (make run's demo devices)."

    def handle(self, *args, **options):
        devices = TOTPDevice.objects.filter(name=DEMO_DEVICE_NAME, confirmed=True).select_related("user")
        if not devices:
            self.stdout.write("No demo devices; run `manage.py seed_demo_otp` first.")
            return
        for device in devices.order_by("user__email"):
            clock = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
            left = device.step - (int(clock.time) - device.t0) % device.step
            self.stdout.write(f"  {device.user.email:28} {clock.token():06d}   (valid {left}s more)")
        self.stdout.write(f"  Or add this demo key to an authenticator app: {DEMO_TOTP_BASE32}")
