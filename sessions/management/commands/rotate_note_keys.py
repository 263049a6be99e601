"""Re-encrypt every session note under the newest key in NOTE_ENCRYPTION_KEYS.

Rotate by prepending a new key to NOTE_ENCRYPTION_KEYS, running this command, and only
then removing the old key. It never prints or logs a note, only counts.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sessions import notes
from sessions.models import SessionNote

BATCH = 500


class Command(BaseCommand):
    help = "Re-encrypt all session notes with the newest key in NOTE_ENCRYPTION_KEYS."

    def handle(self, *args, **options):
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
