import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from sessions.models import SessionNote
from sessions.selectors import note_for_author
from tests.factories import SessionFactory

pytestmark = pytest.mark.django_db

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def _raw_ciphertexts():
    with connection.cursor() as cursor:
        cursor.execute("SELECT ciphertext FROM therapy_sessions_sessionnote ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _note(session, author, text):
    note = SessionNote(session=session, author=author)
    note.text = text
    note.save()


def test_it_reencrypts_every_note_under_the_newest_key(alice, alice_client, capsys):
    sessions = [SessionFactory(client=alice_client) for _ in range(3)]
    with override_settings(NOTE_ENCRYPTION_KEYS=OLD):
        for i, s in enumerate(sessions):
            _note(s, alice, f"note {i}")
        before = _raw_ciphertexts()

    with override_settings(NOTE_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        # Before the rotation, old notes still decrypt with the old key in second place.
        assert note_for_author(alice, sessions[0]) == "note 0"
        call_command("rotate_note_keys")
        after = _raw_ciphertexts()
        assert [note_for_author(alice, s) for s in sessions] == ["note 0", "note 1", "note 2"]

    assert all(a != b for a, b in zip(before, after))
    assert "Re-encrypted 3 session note(s)" in capsys.readouterr().out
    assert "note 0" not in capsys.readouterr().out
    # Once rotated, the old key can be removed and the notes still read.
    with override_settings(NOTE_ENCRYPTION_KEYS=NEW):
        assert [note_for_author(alice, s) for s in sessions] == ["note 0", "note 1", "note 2"]


def test_it_stops_without_changes_when_a_note_cannot_be_decrypted(alice, alice_client):
    session = SessionFactory(client=alice_client)
    with override_settings(NOTE_ENCRYPTION_KEYS=OLD):
        _note(session, alice, "lost key")
    before = _raw_ciphertexts()
    with override_settings(NOTE_ENCRYPTION_KEYS=NEW):
        with pytest.raises(CommandError) as excinfo:
            call_command("rotate_note_keys")
    assert "lost key" not in str(excinfo.value)
    assert _raw_ciphertexts() == before
