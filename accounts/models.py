import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _


def validate_timezone(value):
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone.")


class StaffLanguage(models.TextChoices):
    """The languages staff pages are complete in (settings.STAFF_LANGUAGES)."""

    ENGLISH = "en", "English"
    SPANISH = "es", "Español"


class Clinic(models.Model):
    """A practice. Every user and client belongs to exactly one; nothing crosses clinics.

    Survey timing and flag thresholds live here so each clinic can tune them. The flag
    defaults are conventions borrowed from comparable 0–40 alliance scales, not
    validated norms for our check-in.
    """

    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    created_at = models.DateTimeField(default=dj_timezone.now)
    language = models.CharField(
        _("Language of staff pages"), max_length=7, choices=StaffLanguage.choices, default=StaffLanguage.ENGLISH,
        db_default=StaffLanguage.ENGLISH,
        help_text=_("What staff see unless they choose a language of their own."),
    )

    # Channels: how a client who consented may be asked after a session. In-session
    # check-ins (alliance/checkins/in_session.py) need no setting: the therapist starts them.
    email_checkins = models.BooleanField(
        "Ask by email", default=True, db_default=True,
        help_text="Email each check-in to clients who agreed to emails.",
    )
    sms_checkins = models.BooleanField(
        "Ask by text message", default=True, db_default=True,
        help_text="Text each check-in to clients who agreed to text messages (needs an SMS provider).",
    )

    # Survey timing
    survey_delay_hours = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(72)],
        help_text="Hours after a session ends before its check-in is emailed (0–72).",
    )
    reminder_after_hours = models.PositiveSmallIntegerField(
        default=48, validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text="Hours after sending before one reminder goes to a client who has not answered.",
    )
    expiry_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text="Days after sending until a check-in link expires.",
    )
    max_send_attempts = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Delivery attempts before an invitation is marked failed.",
    )

    # Flag thresholds (defaults: conventions from comparable 0–40 scales, not validated norms)
    low_total_below = models.PositiveSmallIntegerField(
        default=36, validators=[MaxValueValidator(40)],
        help_text="Low alliance: client total below this (0–40).",
    )
    low_dimension_below = models.PositiveSmallIntegerField(
        default=7, validators=[MaxValueValidator(10)],
        help_text="Low alliance: any dimension below this (0–10).",
    )
    drop_points = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(40)],
        help_text="Drop: client total fell by at least this many points since the previous check-in.",
    )
    declining_run = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(2), MaxValueValidator(10)],
        help_text="Declining trend: this many check-ins in a row, each lower than the last.",
    )
    discrepancy_points = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(40)],
        help_text="Discrepancy: therapist total exceeds client total by at least this much.",
    )
    no_feedback_expired = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="No feedback: this many most recent invitations expired unanswered.",
    )
    attendance_missed = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="Attendance: at least this many no-shows or late cancellations…",
    )
    attendance_window = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(20)],
        help_text="…among this many most recent scheduled sessions.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(survey_delay_hours__lte=72), name="clinic_delay_0_72"),
            models.CheckConstraint(condition=models.Q(low_total_below__lte=40), name="clinic_low_total_0_40"),
            models.CheckConstraint(condition=models.Q(low_dimension_below__lte=10), name="clinic_low_dim_0_10"),
            models.CheckConstraint(
                condition=models.Q(attendance_missed__lte=models.F("attendance_window")),
                name="clinic_attendance_missed_le_window",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def tzinfo(self):
        return zoneinfo.ZoneInfo(self.timezone)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", User.Role.CLINIC_ADMIN)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """Staff who log in. Email is the login. Clients never have accounts."""

    class Role(models.TextChoices):
        THERAPIST = "therapist", _("Therapist")
        CLINIC_ADMIN = "clinic_admin", _("Clinic admin")
        # Reads the scores, flags and calibration of the therapists assigned to them
        # (Supervision), never a note or a comment; changes nothing clinical.
        SUPERVISOR = "supervisor", _("Supervisor")

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.THERAPIST)
    clinic = models.ForeignKey(
        Clinic, on_delete=models.PROTECT, related_name="staff", null=True, blank=True,
        help_text="Empty only for platform superusers, who have no clinic data.",
    )
    language = models.CharField(
        _("Language"), max_length=7, choices=StaffLanguage.choices, blank=True, default="", db_default="",
        help_text=_("The language of your pages. Empty: your clinic's."),
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Can log into the Django admin.")
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        indexes = [models.Index(fields=["clinic", "role", "is_active"])]

    def __str__(self):
        return self.full_name or self.email

    def save(self, *args, **kwargs):
        # Logins are case-insensitive; storing one case keeps the unique index honest.
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_therapist(self):
        return self.role == self.Role.THERAPIST

    @property
    def is_clinic_admin(self):
        return self.role == self.Role.CLINIC_ADMIN

    @property
    def is_supervisor(self):
        return self.role == self.Role.SUPERVISOR


class Supervision(models.Model):
    """A supervisor's assignment to one therapist of the same clinic, managed by the
    clinic admin on the staff page. What it lets the supervisor read is decided in one
    place, accounts.access (supervisees_of)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="supervisions")
    supervisor = models.ForeignKey(User, on_delete=models.CASCADE, related_name="supervisions")
    therapist = models.ForeignKey(User, on_delete=models.CASCADE, related_name="supervised_by")
    created_at = models.DateTimeField(default=dj_timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["supervisor", "therapist"], name="one_supervision_per_pair"),
        ]

    def __str__(self):
        return f"Supervision of {self.therapist_id} by {self.supervisor_id}"
