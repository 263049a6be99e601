"""Re-encrypt every session note, every client comment and every webhook signing secret
(webhooks.models.Subscription) under the newest key in NOTE_ENCRYPTION_KEYS.

Rotate by prepending a new key to NOTE_ENCRYPTION_KEYS, running this command, and only
then removing the old key. It never prints or logs a note or a comment, only counts.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from sessions import notes
from sessions.models import SessionNote

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt all session notes and client comments with the newest key in NOTE_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        self._rotate_notes()
        self._rotate_column("alliance_checkin", "comment", "client comment", "Check-in")
        # A therapist's private words on what they did about a flag (alliance.models.RepairNote).
        self._rotate_column("alliance_repairnote", "text", "repair note", "Repair note")
        self._rotate_webhook_secrets()

    def _rotate_webhook_secrets(self):
        """Few rows (a handful per clinic): one transaction, through a raw cursor for the
        same reason as comments."""
        with transaction.atomic(), connection.cursor() as cursor:
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            cursor.execute(f"SELECT id, secret FROM webhooks_subscription WHERE secret <> '' ORDER BY id{lock}")
            updates = []
            for pk, ciphertext in cursor.fetchall():
                try:
                    updates.append((notes.rotate(ciphertext), pk))
                except InvalidToken:
                    raise CommandError(
                        f"Webhook {pk}'s signing secret cannot be decrypted with any configured key; "
                        "no secret was re-encrypted."
                    ) from None
            cursor.executemany("UPDATE webhooks_subscription SET secret = %s WHERE id = %s", updates)
        self.stdout.write(f"Re-encrypted {len(updates)} webhook signing secret(s) with the newest key.")

    def _rotate_column(self, table, column, label, row_label):
        """Encrypted text fields through a raw cursor: the model field hands out plain
        text, and the rotation must work on the ciphertext. Rows locked per batch, as
        for notes."""
        rotated = 0
        last_pk = 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
                cursor.execute(
                    f"SELECT id, {column} FROM {table} WHERE id > %s AND {column} <> '' "
                    f"ORDER BY id LIMIT %s{lock}", [last_pk, BATCH],
                )
                rows = cursor.fetchall()
                if not rows:
                    break
                updates = []
                for pk, ciphertext in rows:
                    try:
                        updates.append((notes.rotate(ciphertext), pk))
                    except InvalidToken:
                        raise CommandError(
                            f"{row_label} {pk}'s {column} cannot be decrypted with any configured key; "
                            f"this batch was left unchanged ({rotated} {label}(s) re-encrypted before it)."
                        ) from None
                cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", updates)
                rotated += len(rows)
                last_pk = rows[-1][0]
        self.stdout.write(f"Re-encrypted {rotated} {label}(s) with the newest key.")

    def _rotate_notes(self):
        rotated = 0
        last_pk = 0
        while True:
            # Batches by primary key, each in its own transaction with the rows locked, so
            # a note saved by its author meanwhile is never overwritten with older text.
            with transaction.atomic():
                batch = list(
                    SessionNote.objects.select_for_update()
                    .filter(pk__gt=last_pk)
                    .order_by("pk")
                    .only("pk", "ciphertext")[:BATCH]
                )
                if not batch:
                    break
                for note in batch:
                    try:
                        note.ciphertext = notes.rotate(note.ciphertext)
                    except InvalidToken:
                        raise CommandError(
                            f"Session note {note.pk} cannot be decrypted with any configured key; "
                            f"this batch was left unchanged ({rotated} note(s) re-encrypted before it)."
                        ) from None
                SessionNote.objects.bulk_update(batch, ["ciphertext"])
                rotated += len(batch)
                last_pk = batch[-1].pk
        self.stdout.write(f"Re-encrypted {rotated} session note(s) with the newest key.")
