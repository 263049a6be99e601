from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sessions.notes import EncryptedTextField

SCORE_FIELDS = ("trust", "empathy", "boundaries", "collaboration")


class Channel(models.TextChoices):
    """How a client's check-in reached them and came back (DESIGN.md, "Channels")."""

    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")
    IN_SESSION_PHONE = "in_session_phone", _("In session, on the client's phone")
    IN_SESSION_DEVICE = "in_session_device", _("In session, on the therapist's device")


def _score_field(label, help_text):
    return models.PositiveSmallIntegerField(label, help_text=help_text)


class CheckIn(models.Model):
    """One rating of one session's alliance: four dimensions on 0–10, total 0–40.

    The client answers by email link (source=client); the therapist rates the same four
    dimensions when logging the session (source=therapist), so the two can be compared.
    """

    class Source(models.TextChoices):
        CLIENT = "client", _("Client")
        THERAPIST = "therapist", _("Therapist")

    # Neither key has an index of its own: the unique (session, source) and the
    # (client, source, submitted_at) index lead with them, and every client's answer
    # would write two more index entries for nothing.
    session = models.ForeignKey("therapy_sessions.Session", on_delete=models.CASCADE, related_name="checkins",
                                db_index=False)
    # Denormalised from session.client so per-client trends need no join.
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="checkins", db_index=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    # How a client's answer came back; blank for the therapist's own rating.
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, db_default="")
    trust = _score_field("trust", "I could trust my therapist in this session.")
    empathy = _score_field("empathy", "I felt heard and understood.")
    boundaries = _score_field("boundaries", "The session felt safe and respectful of limits.")
    collaboration = _score_field("collaboration", "We worked on what I wanted, in a way that suits me.")
    total = models.GeneratedField(
        expression=models.F("trust") + models.F("empathy") + models.F("boundaries") + models.F("collaboration"),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    # The client's own words, for their therapist: encrypted at rest like a note.
    comment = EncryptedTextField(blank=True, max_length=2000)
    submitted_at = models.DateTimeField(default=timezone.now)
    # Set in the answer's own transaction, cleared once the client's flags have taken
    # this answer into account (alliance.flags.refresh): the durable "flags stale"
    # marker that lets the recompute run after commit and a sweep repair a lost one.
    flags_pending = models.BooleanField(default=False, db_default=False)
    # When the scores or comment last changed, for the API's `updated_since` polls.
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "source"], name="one_checkin_per_session_and_source"),
            *[
                models.CheckConstraint(
                    condition=models.Q(**{f"{f}__gte": 0, f"{f}__lte": 10}), name=f"checkin_{f}_0_10"
                )
                for f in SCORE_FIELDS
            ],
            models.CheckConstraint(condition=models.Q(source__in=["client", "therapist"]), name="checkin_source_valid"),
        ]
        indexes = [
            models.Index(fields=["client", "source", "-submitted_at"]),
            models.Index(fields=["source", "submitted_at"]),
            # Only the few answers whose flags are not yet recomputed: the sweep's scan.
            models.Index(fields=["submitted_at"], condition=models.Q(flags_pending=True), name="checkin_flags_pending"),
            models.Index(fields=["updated_at", "id"], name="checkin_updated_idx"),
        ]

    def __str__(self):
        return f"{self.get_source_display()} check-in for session {self.session_id}"


class SurveyInvitation(models.Model):
    """The one ask for one session's client check-in, and the outbox row that delivers
    it. See DESIGN.md, "How the survey travels" and "Channels".

    One row per session, whatever the channels: the ask is answered once, expires once
    and counts once in response rates. Each channel it goes out on has a link of its
    own (a token of its own, of which only the SHA-256 digest is stored) and its own
    sent time, so a retry after one channel got through sends only the others.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    session = models.OneToOneField("therapy_sessions.Session", on_delete=models.CASCADE, related_name="invitation")
    # Indexed by (client, -due_at), which leads with it.
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="invitations", db_index=False)
    token_hash = models.CharField(max_length=64)
    # The reminder carries its own token so that sending it does not kill the first
    # email's link: either digest opens the check-in (alliance/checkins/services.py).
    reminder_token_hash = models.CharField(max_length=64, null=True, blank=True)
    # By text message: the link's and the reminder's digests, and what the provider
    # says of the message (its id, the last delivery status and error code).
    sms_token_hash = models.CharField(max_length=64, null=True, blank=True)
    sms_reminder_token_hash = models.CharField(max_length=64, null=True, blank=True)
    sms_message_id = models.CharField(max_length=64, blank=True, db_default="")
    sms_status = models.CharField(max_length=20, blank=True, db_default="")
    sms_error = models.CharField(max_length=100, blank=True, db_default="")
    # In the session itself (alliance/checkins/in_session.py): a short-lived link for
    # the client's phone, opened by QR code or by typing a short code, or a hand-over
    # screen on the therapist's device. Independent of the outbox's state: an answer
    # here closes the ask and the email or text is never sent.
    in_session_token_hash = models.CharField(max_length=64, null=True, blank=True)
    in_session_code_hash = models.CharField(max_length=64, null=True, blank=True)
    in_session_channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, db_default="")
    in_session_expires_at = models.DateTimeField(null=True, blank=True)
    # Which channel's link answered it (for response rates by channel).
    answered_channel = models.CharField(max_length=20, choices=Channel.choices, blank=True, db_default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The outbox's claim on a row being sent (alliance/checkins/outbox.py): the id of the one
    # Celery task allowed to send it, when an attempt started, and when the claim lapses
    # so that a sweep may take the row back from a worker that died.
    claim_id = models.CharField(max_length=36, blank=True)
    attempt_started_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # When the first channel got through (set with the status `sent`). The expiry counts
    # from the start of the attempt that got it through, so the email can state it.
    sent_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    sms_sent_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-due_at", "-id"]
        indexes = [
            # The outbox's sweeps, each over the rows in one status only: a row is in
            # at most one of these, so most of its updates write none of them (and none
            # can tempt the planner away from the primary key, outbox._still).
            models.Index(fields=["due_at"], condition=models.Q(status="scheduled"), name="invitation_scheduled_due_idx"),
            models.Index(fields=["lease_until"], condition=models.Q(status="sending"), name="invitation_sending_lease_idx"),
            models.Index(fields=["sent_at"], condition=models.Q(status="sent"), name="invitation_sent_idx"),
            models.Index(fields=["expires_at"], condition=models.Q(status="sent"), name="invitation_sent_expires_idx"),
            models.Index(fields=["client", "-due_at"]),
            models.Index(fields=["sms_message_id"], name="invitation_sms_message_idx"),
        ]
        # The digests are unique as constraints rather than `unique=True`, which on
        # PostgreSQL adds a second (varchar_pattern_ops) index to each for LIKE queries
        # nobody makes; and those that stay NULL for most rows (the reminder's, the
        # text's, the in-session ones) are indexed only where set. Each index is one more
        # write on every update that moves the row, and the outbox updates it four times
        # per message.
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="invitation_token_hash_key"),
            *(
                models.UniqueConstraint(fields=[f], condition=models.Q(**{f"{f}__isnull": False}), name=f"invitation_{f}_key")
                for f in ("reminder_token_hash", "sms_token_hash", "sms_reminder_token_hash", "in_session_token_hash",
                          "in_session_code_hash")
            ),
        ]

    def __str__(self):
        return f"Invitation for session {self.session_id} ({self.status})"


class Flag(models.Model):
    """An alert that a relationship needs attention. Raised and cleared by
    alliance.flags.rules.flags_recompute_for_client; acknowledged by the therapist with a response."""

    class Kind(models.TextChoices):
        LOW_ALLIANCE = "low_alliance", _("Low alliance")
        DROP = "drop", _("Drop")
        DECLINING = "declining", _("Declining trend")
        DISCREPANCY = "discrepancy", _("Discrepancy")
        NO_FEEDBACK = "no_feedback", _("No feedback")
        ATTENDANCE = "attendance", _("Attendance")

    class Response(models.TextChoices):
        DISCUSSED = "discussed", _("Discussed the relationship in session")
        ADJUSTED = "adjusted", _("Adjusted the approach")
        FREQUENCY = "frequency", _("Changed session frequency")
        REFERRED = "referred", _("Referred")
        OTHER = "other", _("Other")

    # Higher is more severe; used to order the "needs attention" list.
    SEVERITY = {
        Kind.DROP: 5,
        Kind.LOW_ALLIANCE: 4,
        Kind.DECLINING: 4,
        Kind.DISCREPANCY: 3,
        Kind.ATTENDANCE: 2,
        Kind.NO_FEEDBACK: 1,
    }

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(default=1)
    session = models.ForeignKey(
        "therapy_sessions.Session", on_delete=models.SET_NULL, null=True, blank=True, related_name="flags"
    )
    detail = models.CharField(max_length=200, blank=True, help_text="Why it fired, in numbers only.")
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    response = models.CharField(max_length=20, choices=Response.choices, blank=True)
    response_text = models.CharField(max_length=500, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Raised, acknowledged, re-detailed or resolved: for the API's `updated_since` polls.
    # Every write names it (update_fields, or the acknowledgement's conditional UPDATE).
    updated_at = models.DateTimeField(auto_now=True, db_default=Now())

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "kind"], condition=models.Q(resolved_at__isnull=True), name="one_open_flag_per_kind"
            ),
        ]
        indexes = [
            models.Index(fields=["client", "resolved_at"]),
            models.Index(fields=["resolved_at", "-severity", "raised_at"]),
            models.Index(fields=["raised_at"]),
            models.Index(fields=["updated_at", "id"], name="flag_updated_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} flag for client {self.client_id}"

    @property
    def is_open(self):
        return self.resolved_at is None


class RepairStrategy(models.TextChoices):
    """What a therapist did about a flag, one or more per acknowledgement. The options a
    flag kind offers, with the research behind each, are in alliance/flags/guidance.py."""

    INVITE_FEEDBACK = "invite_feedback", _("Invited the client to say what is not working")
    OWN_PART = "own_part", _("Acknowledged my own part in the strain")
    REVISIT_GOALS = "revisit_goals", _("Revisited goals and tasks together")
    ADJUST_APPROACH = "adjust_approach", _("Adjusted the approach or pace")
    REVIEW_FEEDBACK = "review_feedback", _("Went over the check-in results with the client")
    COMPARE_VIEWS = "compare_views", _("Compared my view of the session with the client's")
    ADDRESS_ATTENDANCE = "address_attendance", _("Talked about attendance and what gets in the way")
    ADJUST_SCHEDULE = "adjust_schedule", _("Changed the time, frequency or format of sessions")
    FEEDBACK_CHANNEL = "feedback_channel", _("Asked how the client would rather give feedback")
    SUPERVISION = "supervision", _("Took it to supervision or consultation")
    OTHER = "other", _("Something else")


class FlagStrategy(models.Model):
    """One strategy recorded with a flag's acknowledgement: a row each, so recovery
    rates group by strategy in SQL (clinic.dashboards, alliance.flags.selectors)."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="strategies")
    strategy = models.CharField(_("strategy"), max_length=30, choices=RepairStrategy.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["flag", "strategy"], name="one_row_per_flag_strategy"),
        ]
        indexes = [models.Index(fields=["strategy", "flag"])]

    def __str__(self):
        return f"{self.strategy} for flag {self.flag_id}"


class RepairNote(models.Model):
    """The therapist's own words on what they did about a flag: as private as a session
    note (sessions.models.SessionNote), encrypted at rest, readable by its author alone
    (alliance.flags.selectors.repair_notes_for_author). Its own table, so no query about
    flags loads it by accident."""

    MAX_LENGTH = 2000

    flag = models.OneToOneField(Flag, on_delete=models.CASCADE, related_name="repair_note")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = EncryptedTextField(max_length=MAX_LENGTH)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Repair note on flag {self.flag_id}"

    def __repr__(self):
        return f"<RepairNote flag={self.flag_id} author={self.author_id}>"


class FlagRecompute(models.Model):
    """One pass over a clinic's clients that brings their flags in line with new flag
    thresholds, run by a Celery task (alliance/flags/tasks.py) and shown as progress on
    the clinic settings page. The row is the durable marker: the task carries only its
    id, and a sweep sends it again if the message was lost.

    The settings change writes it, in the same transaction, with the clients to visit
    (ids up to last_client_id; a client added later is evaluated with the new thresholds
    anyway). `cursor` is the last client id done, advanced batch by batch by a
    conditional UPDATE, so a redelivered or duplicated task resumes rather than redoes,
    and two executions of one run cannot both count a batch. A newer run of the same
    clinic supersedes this one: the newer run revisits every client with the newer
    thresholds, so the later change wins."""

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="flag_recomputes")
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_client_id = models.BigIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["clinic", "-id"], name="flag_recompute_clinic_idx")]

    def __str__(self):
        return f"Flag recompute {self.pk} for clinic {self.clinic_id}"

    @property
    def is_running(self):
        return self.finished_at is None and self.superseded_at is None
