"""Webhooks: a clinic admin subscribes a URL of the clinic's other systems (an EHR, a
practice-management system) to events, and Rapport POSTs each event there, signed.

`Subscription` is what the admin set up; `Delivery` is one event for one subscription,
and the outbox row that carries it (webhooks/outbox.py says how rows travel, what order
they keep and what a crash can cost)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sessions.notes import EncryptedTextField


class Event(models.TextChoices):
    CHECKIN_RECEIVED = "checkin.received", _("Check-in received")
    FLAG_RAISED = "flag.raised", _("Flag raised")
    FLAG_RESOLVED = "flag.resolved", _("Flag resolved")
    # Sent by "Send a test event" only; nobody subscribes to it.
    PING = "ping", _("Test event")


SUBSCRIBABLE_EVENTS = [(e.value, e.label) for e in Event if e != Event.PING]


class Subscription(models.Model):
    """One URL of the clinic's, and the events it receives.

    The signing secret is shown to the admin once, when the subscription is made, and
    kept so that every delivery can be signed with it: HMAC needs the secret itself, so
    it cannot be stored as a one-way hash as a password is. It is stored encrypted at
    rest, with the same MultiFernet keys as session notes (NOTE_ENCRYPTION_KEYS,
    sessions/notes.py), so a copy of the database alone does not let anyone forge our
    signatures; no page shows it again.
    """

    class Scope(models.TextChoices):
        SCORES = "scores", _("Scores")
        SCORES_AND_COMMENTS = "scores_comments", _("Scores and clients' comments")

    class DisabledReason(models.TextChoices):
        BY_ADMIN = "admin", _("Turned off by a clinic admin")
        FAILURES = "failures", _("Turned off after repeated failed deliveries")

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(_("URL"), max_length=500)
    # The events chosen, a list of Event values (few per clinic: filtered in Python).
    events = models.JSONField(_("events"), default=list)
    scope = models.CharField(_("what deliveries carry"), max_length=20, choices=Scope.choices, default=Scope.SCORES)
    secret = EncryptedTextField(_("signing secret"))
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("turned off at"), null=True, blank=True)
    disabled_reason = models.CharField(
        _("why it is off"), max_length=10, choices=DisabledReason.choices, blank=True, default=""
    )
    # Failed attempts since the last success; at WEBHOOK_DISABLE_AFTER_FAILURES the
    # subscription is turned off and the clinic's admins are told.
    consecutive_failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The outbox's claim (webhooks/outbox.py): one task at a time sends a subscription's
    # deliveries, in order; the claim lapses at lease_until if its worker died.
    claim_id = models.CharField(max_length=36, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        indexes = [models.Index(fields=["clinic", "is_active"], name="webhook_sub_clinic_active")]

    def __str__(self):
        return f"Webhook subscription {self.pk} for clinic {self.clinic_id}"

    @property
    def includes_comments(self):
        return self.scope == self.Scope.SCORES_AND_COMMENTS

    @property
    def collects_events(self):
        """Active, or turned off by failures (so that turning it back on delivers what
        the receiver missed, in order). One the admin turned off collects nothing."""
        return self.is_active or self.disabled_reason == self.DisabledReason.FAILURES


class Delivery(models.Model):
    """One event for one subscription, and its outbox row."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        DELIVERED = "delivered", _("Delivered")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    # Stable across retries, and the same for the same event written twice (the
    # after-answer task and the stale-flags sweep both write "checkin:<id>"): the
    # unique constraint makes the second write a no-op and lets a receiver drop a
    # duplicate delivered inside the crash window (webhooks/outbox.py).
    idempotency_key = models.CharField(_("idempotency key"), max_length=100)
    # Ids, scores and times only. A client's comment is never stored here: it is read
    # (decrypted) from the check-in when a delivery under the comments scope is sent.
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=200, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "idempotency_key"], name="one_delivery_per_event_key"),
        ]
        indexes = [
            # The head of each subscription's queue: its oldest waiting delivery.
            models.Index(
                fields=["subscription", "id"], condition=models.Q(status="pending"), name="webhook_delivery_pending"
            ),
        ]

    def __str__(self):
        return f"{self.event} delivery {self.pk} ({self.status})"
