from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils import timezone

from . import notes


class Session(models.Model):
    """One scheduled therapy session with a client."""

    class Attendance(models.TextChoices):
        # Booked: in the diary, not yet held. The only state (with cancelled) a session
        # in the future can have; once its start has passed, it waits for the therapist
        # to record what happened, and counts nowhere until then.
        BOOKED = "booked", _("Booked")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("No-show")
        LATE_CANCEL = "late_cancel", _("Late cancellation")
        CANCELLED = "cancelled", _("Cancelled")

    class Format(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        VIDEO = "video", _("Video")
        PHONE = "phone", _("Phone")

    # Attendance values that count against the "attendance" flag.
    MISSED = (Attendance.NO_SHOW, Attendance.LATE_CANCEL)
    # What a session that has not started yet can be: booked, or cancelled in advance.
    BEFORE_START = (Attendance.BOOKED, Attendance.CANCELLED)

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="sessions")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapy_sessions",
        help_text="Who held the session (stays put if the client is later reassigned).",
    )
    scheduled_start = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        default=50, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    attendance = models.CharField(max_length=12, choices=Attendance.choices, default=Attendance.ATTENDED)
    format = models.CharField(max_length=12, choices=Format.choices, default=Format.IN_PERSON)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The one-time token of the form that logged it. Unique, so a double submit racing
    # past the check in the browser session still cannot create the session twice.
    form_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    # The clinic's own id for the appointment (its EHR's), when it came through the REST
    # API: unique per client, so a sync job retrying a timed-out request cannot log the
    # session twice.
    external_id = models.CharField(max_length=64, blank=True, db_default="")

    class Meta:
        ordering = ["-scheduled_start", "-id"]
        indexes = [
            models.Index(fields=["client", "-scheduled_start"]),
            models.Index(fields=["therapist", "scheduled_start"]),
            models.Index(fields=["scheduled_start"]),
            # The API's `updated_since` polls.
            models.Index(fields=["updated_at", "id"], name="session_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="session_duration_5_480",
            ),
            models.UniqueConstraint(
                fields=["client", "external_id"], condition=~models.Q(external_id=""),
                name="session_external_id_unique_per_client",
            ),
        ]

    def __str__(self):
        return f"Session {self.pk} on {self.scheduled_start:%Y-%m-%d}"

    @property
    def ends_at(self):
        return self.scheduled_start + timedelta(minutes=self.duration_minutes)

    @property
    def was_attended(self):
        return self.attendance == self.Attendance.ATTENDED

    @property
    def is_booked(self):
        return self.attendance == self.Attendance.BOOKED

    def needs_attendance(self, now=None):
        """Booked, and its start has passed: the therapist has yet to record whether
        the client came (until then it counts in no rate, flag or "last session")."""
        return self.is_booked and self.scheduled_start <= (now or timezone.now())


class SessionNote(models.Model):
    """The therapist's private note on a session, encrypted at rest.

    Kept in its own table so that every query about sessions (dashboards, exports, the
    admin) never loads it by accident. Only `author` may read it: use
    `sessions.selectors.note_for_author`, never `.text` on an arbitrary row.
    """

    MAX_LENGTH = 20_000

    session = models.OneToOneField(Session, on_delete=models.CASCADE, related_name="note")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ciphertext = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Note on session {self.session_id}"

    def __repr__(self):
        return f"<SessionNote session={self.session_id} author={self.author_id}>"

    @property
    def text(self) -> str:
        return notes.decrypt(self.ciphertext)

    @text.setter
    def text(self, value: str):
        self.ciphertext = notes.encrypt(value)


class SessionChange(models.Model):
    """Edit history of a session: who changed which fields, and when (never the values
    of the note)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    fields = models.JSONField(default=list)

    class Meta:
        ordering = ["-changed_at", "-id"]
