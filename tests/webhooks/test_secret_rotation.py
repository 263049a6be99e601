"""A signing secret is encrypted under NOTE_ENCRYPTION_KEYS, so rotating the keys must
carry it along: after `rotate_note_keys` and dropping the old key, deliveries are still
signed with the secret the receiver was given."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import override_settings

from webhooks.models import Subscription

from .helpers import answer, sweep_and_send

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_rotating_the_keys_keeps_every_webhook_signing(receiver, subscribe, alice_client, capsys):
    rx = receiver()
    with override_settings(NOTE_ENCRYPTION_KEYS=OLD):
        subscription = subscribe(rx, events=["checkin.received"])
    with override_settings(NOTE_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        call_command("rotate_note_keys")
    assert "Re-encrypted 1 webhook signing secret(s)" in capsys.readouterr().out
    with override_settings(NOTE_ENCRYPTION_KEYS=NEW):
        assert Subscription.objects.get(pk=subscription.pk).secret == rx.secret
        answer(alice_client)
        sweep_and_send()
    [got] = rx.got()
    assert got.verified
