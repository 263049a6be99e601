import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.management.commands.seed_demo_otp import DEMO_DEVICE_NAME
from alliance.management.commands.seed_demo import ADMIN_EMAIL
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_demo_users_get_one_demo_device_and_their_codes_print(capsys):
    admin = UserFactory(email=ADMIN_EMAIL)
    call_command("seed_demo_otp")
    call_command("seed_demo_otp")
    assert TOTPDevice.objects.filter(user=admin, name=DEMO_DEVICE_NAME, confirmed=True).count() == 1
    call_command("demo_otp_code")
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user=admin)
    line = next(line for line in out.splitlines() if ADMIN_EMAIL in line)
    assert device.verify_token(line.split()[1])


def test_the_banner_tells_a_newcomer_how_to_pass_the_second_step(capsys):
    call_command("demo_banner")
    assert "demo_otp_code" in capsys.readouterr().out
