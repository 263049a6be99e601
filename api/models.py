from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What an API key may do. Each endpoint names the one scope it needs (api/views.py)."""

    CLIENTS_READ = "clients:read", _("Read clients")
    CLIENTS_WRITE = "clients:write", _("Create, update and discharge clients")
    SESSIONS_READ = "sessions:read", _("Read sessions")
    SESSIONS_WRITE = "sessions:write", _("Create and update sessions")
    SCORES_READ = "scores:read", _("Read check-in scores (also FHIR)")
    COMMENTS_READ = "comments:read", _("Read clients' comments with their scores")
    FLAGS_READ = "flags:read", _("Read flags")
    FLAGS_WRITE = "flags:write", _("Acknowledge flags")
    DASHBOARD_READ = "dashboard:read", _("Read the dashboard's figures")


class ApiKey(models.Model):
    """A clinic's key for one of its other systems (an EHR's sync job).

    The secret is shown once, when the key is made, and only its SHA-256 digest is kept
    (api/keys.py says why a fast hash is right here). `prefix` is the secret's public
    first part: shown in lists and used to find the row, so looking a key up costs one
    indexed query and the digest comparison is constant-time.
    """

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, help_text=_("Which system uses it, e.g. “EHR sync”."))
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="apikey_clinic_created_idx")]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self):
        return self.revoked_at is None

    def has_scope(self, scope):
        return scope in self.scopes
