"""A "booked" attendance state for sessions that have not happened yet.

Until now a session in the future could only be saved as attended, a no-show, a late
cancellation or cancelled, so a therapist who put next week's appointment in had to call
it attended (the default) and rate it. Those sessions become booked here: their
check-in, which was waiting to be sent about a session nobody had held, is cancelled,
and the therapist's rating of it is removed, as the app does whenever a session stops
being attended (sessions.services._save_rating). Sessions cancelled in advance stay
cancelled.

Going back: a booked session in the future becomes attended (what the old app would
have stored), one in the past becomes cancelled (the old app has no "not recorded
yet", and cancelled counts in no rate or flag, as booked does not).
"""

from django.db import migrations, models
from django.utils import timezone


def book_future_sessions(apps, schema_editor):
    Session = apps.get_model("therapy_sessions", "Session")
    SurveyInvitation = apps.get_model("alliance", "SurveyInvitation")
    CheckIn = apps.get_model("alliance", "CheckIn")
    future = Session.objects.filter(
        scheduled_start__gt=timezone.now(), attendance__in=["attended", "no_show", "late_cancel"]
    )
    ids = list(future.values_list("id", flat=True))
    if not ids:
        return
    SurveyInvitation.objects.filter(session_id__in=ids, status="scheduled").update(status="cancelled")
    CheckIn.objects.filter(session_id__in=ids, source="therapist").delete()
    Session.objects.filter(id__in=ids).update(attendance="booked")


def unbook(apps, schema_editor):
    Session = apps.get_model("therapy_sessions", "Session")
    now = timezone.now()
    Session.objects.filter(attendance="booked", scheduled_start__gt=now).update(attendance="attended")
    Session.objects.filter(attendance="booked").update(attendance="cancelled")


class Migration(migrations.Migration):

    dependencies = [
        ("therapy_sessions", "0002_session_form_token"),
        ("alliance", "0005_checkin_channels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="session",
            name="attendance",
            field=models.CharField(
                choices=[
                    ("booked", "Booked"), ("attended", "Attended"), ("no_show", "No-show"),
                    ("late_cancel", "Late cancellation"), ("cancelled", "Cancelled"),
                ],
                default="attended",
                max_length=12,
            ),
        ),
        migrations.RunPython(book_future_sessions, unbook),
    ]
