from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("alliance", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="surveyinvitation",
            name="reminder_token_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="surveyinvitation",
            name="claim_id",
            field=models.CharField(blank=True, max_length=36),
        ),
        migrations.AddField(
            model_name="surveyinvitation",
            name="attempt_started_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="surveyinvitation",
            name="lease_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="surveyinvitation",
            index=models.Index(fields=["status", "lease_until"], name="invitation_status_lease_idx"),
        ),
    ]
