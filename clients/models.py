from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField


class Client(models.Model):
    """A person in therapy. Clients have no account: they answer check-ins by email link."""

    class Language(models.TextChoices):
        """What the client reads: check-in pages, emails and texts (settings.LANGUAGES).
        The check-in items in every language but English are our own translations,
        not validated ones (alliance/checkins/wording.py)."""

        ENGLISH = "en", _("English")
        SPANISH = "es", _("Spanish")
        FRENCH = "fr", _("French")
        GERMAN = "de", _("German")
        BRAZILIAN_PORTUGUESE = "pt-br", _("Brazilian Portuguese")
        ARABIC = "ar", _("Arabic")

    class Modality(models.TextChoices):
        CBT = "cbt", _("CBT")
        HUMANISTIC = "humanistic", _("Humanistic")
        PSYCHODYNAMIC = "psychodynamic", _("Psychodynamic")
        OTHER = "other", _("Other")

    class Approach(models.TextChoices):
        COLLABORATIVE = "collaborative", _("Collaborative")
        SUPPORTIVE = "supportive", _("Supportive")
        DIRECTIVE = "directive", _("Directive")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISCHARGED = "discharged", _("Discharged")

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.PROTECT, related_name="clients")
    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="clients")
    display_name = models.CharField(
        max_length=100, help_text="A name or initials, as the therapist wants to see it."
    )
    email = models.EmailField(blank=True, help_text="Only used to send check-ins, with consent.")
    survey_consent = models.BooleanField(
        default=False, help_text="The client agreed to receive check-in emails."
    )
    opted_out_at = models.DateTimeField(null=True, blank=True, help_text="When the client unsubscribed from emails.")
    # Text messages: a number in E.164, consent of its own, and the STOP reply's opt-out.
    phone = PhoneNumberField(blank=True, help_text="Only used to text check-ins, with consent.")
    sms_consent = models.BooleanField(default=False, db_default=False, help_text="The client agreed to receive check-in texts.")
    sms_opted_out_at = models.DateTimeField(null=True, blank=True, help_text="When the client replied STOP.")
    language = models.CharField(_("Language"), max_length=7, choices=Language.choices, default=Language.ENGLISH)
    modality = models.CharField(max_length=20, choices=Modality.choices)
    relationship_approach = models.CharField(max_length=20, choices=Approach.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    discharged_at = models.DateTimeField(null=True, blank=True)
    # The clinic's own id for this client (its EHR's or practice system's), by which the
    # REST API creates, finds and updates the record; unique within the clinic.
    external_id = models.CharField(
        max_length=64, blank=True, db_default="",
        help_text="The clinic's own id for this client, used by its other systems through the API.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        indexes = [
            models.Index(fields=["therapist", "status", "display_name"]),
            models.Index(fields=["clinic", "status"]),
            models.Index(fields=["clinic", "modality"]),
            models.Index(fields=["clinic", "relationship_approach"]),
            # The API's `updated_since` polls.
            models.Index(fields=["clinic", "updated_at", "id"], name="client_clinic_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="discharged") | models.Q(discharged_at__isnull=False),
                name="client_discharged_has_date",
            ),
            models.UniqueConstraint(
                fields=["clinic", "external_id"], condition=~models.Q(external_id=""),
                name="client_external_id_unique_per_clinic",
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE

    @property
    def can_receive_email(self):
        """No email is ever sent without consent, an address, and no opt-out."""
        return bool(self.email) and self.survey_consent and self.opted_out_at is None and self.is_active

    @property
    def can_receive_sms(self):
        """No text is ever sent without consent, a number, and no STOP."""
        return bool(self.phone) and self.sms_consent and self.sms_opted_out_at is None and self.is_active

    @property
    def checkin_channels(self):
        """The channels a check-in goes out on after a session, in sending order: those
        the client agreed to and the clinic asks by."""
        clinic = self.clinic
        channels = []
        if clinic.email_checkins and self.can_receive_email:
            channels.append("email")
        if clinic.sms_checkins and settings.SMS_ENABLED and self.can_receive_sms:
            channels.append("sms")
        return channels

    @property
    def can_receive_surveys(self):
        """A check-in can reach this client on at least one channel."""
        return bool(self.checkin_channels)
