"""Client comments are encrypted at rest with the notes' key ring. The existing rows are
rewritten through a raw cursor (the historical model's field would try to decrypt the
plain text it is about to read)."""

from django.db import migrations

import sessions.notes

BATCH = 500


def _rewrite(schema_editor, transform):
    connection = schema_editor.connection
    last_id = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, comment FROM alliance_checkin WHERE id > %s AND comment <> '' ORDER BY id LIMIT %s",
                [last_id, BATCH],
            )
            rows = cursor.fetchall()
            if not rows:
                return
            cursor.executemany(
                "UPDATE alliance_checkin SET comment = %s WHERE id = %s",
                [(transform(comment), pk) for pk, comment in rows],
            )
            last_id = rows[-1][0]


def encrypt_comments(apps, schema_editor):
    _rewrite(schema_editor, sessions.notes.encrypt)


def decrypt_comments(apps, schema_editor):
    _rewrite(schema_editor, sessions.notes.decrypt)


class Migration(migrations.Migration):

    dependencies = [
        ("alliance", "0002_survey_outbox_claims"),
    ]

    operations = [
        migrations.RunPython(encrypt_comments, decrypt_comments, elidable=False),
        migrations.AlterField(
            model_name="checkin",
            name="comment",
            field=sessions.notes.EncryptedTextField(blank=True, max_length=2000),
        ),
    ]
