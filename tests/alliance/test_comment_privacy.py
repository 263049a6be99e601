"""A client's comment is for their therapist: encrypted at rest with the notes' key ring
and rotated with them, and never shown in the Django admin."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from alliance.models import CheckIn
from tests.factories import CheckInFactory, UserFactory

pytestmark = pytest.mark.django_db

WORDS = "COMMENT-MARKER-2b9e I felt rushed at the end"
OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def _raw_comments():
    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM alliance_checkin ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def test_the_table_holds_no_plain_text_of_a_comment(alice_client):
    from tests.factories import SessionFactory

    checkin = CheckInFactory(session=SessionFactory(client=alice_client), comment=WORDS)
    CheckInFactory(session=SessionFactory(client=alice_client), comment="")
    raw = _raw_comments()
    assert all("MARKER" not in value and "rushed" not in value for value in raw)
    assert raw[1] == ""  # "no comment" stays plainly empty, so it can be filtered on
    assert CheckIn.objects.get(pk=checkin.pk).comment == WORDS
    assert CheckIn.objects.exclude(comment="").count() == 1


def test_rotation_reencrypts_comments_so_the_old_key_can_go(alice_client):
    from tests.factories import SessionFactory

    with override_settings(NOTE_ENCRYPTION_KEYS=OLD):
        checkin = CheckInFactory(session=SessionFactory(client=alice_client), comment=WORDS)
        before = _raw_comments()
    with override_settings(NOTE_ENCRYPTION_KEYS=f"{NEW},{OLD}"):
        call_command("rotate_note_keys")
        after = _raw_comments()
    assert after != before
    with override_settings(NOTE_ENCRYPTION_KEYS=NEW):
        assert CheckIn.objects.get(pk=checkin.pk).comment == WORDS


def test_the_django_admin_never_shows_a_comment(client, login, alice_client):
    from tests.factories import SessionFactory

    checkin = CheckInFactory(session=SessionFactory(client=alice_client), comment=WORDS)
    operator = UserFactory(email="root@example.com", is_staff=True, is_superuser=True, clinic=None, role="clinic_admin")
    login(client, operator)
    for url in (reverse("admin:alliance_checkin_changelist"), reverse("admin:alliance_checkin_change", args=[checkin.pk])):
        page = client.get(url)
        assert page.status_code == 200
        assert "MARKER" not in page.content.decode()
