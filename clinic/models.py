"""Figures the clinic dashboard reads, maintained as the data changes
(clinic/dashboards/figures.py keeps them; clinic/dashboards/selectors.py reads them).

One row per clinic-local day and client modality × relationship approach, so any date
range, week or month composes from them: `TherapistDayFigures` per therapist (the
therapist table and the therapist filter), `ClinicDayFigures` the same summed over
therapists (every clinic-wide figure, whatever the number of therapists). Each row is
recomputed from the raw rows of its day; `StaleFigureDay` is the durable mark a write
leaves for the day it changed, so a crash before the refresh delays it, never loses it.
Counts only: no score of a single check-in, no note, no comment.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The counted columns, in the order the refresh computes them. Which date a column is
# counted on: the session's start (sessions, attended, missed, check-ins and their
# scores), the invitation's due time (due, answered, expired and the channels) and the
# flag's raise or resolve time.
COUNTS = (
    "sessions", "attended", "missed",
    "due", "answered", "expired",
    "offered_email", "offered_sms", "offered_in_session_phone", "offered_in_session_device",
    "answered_email", "answered_sms", "answered_in_session_phone", "answered_in_session_device",
    "checkins", "total_sum", "low",
    "b0", "b1", "b2", "b3", "b4", "b5", "b6",
    "flags_raised", "flags_resolved",
)


class DayFigures(models.Model):
    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    modality = models.CharField(_("modality"), max_length=20)
    approach = models.CharField(_("relationship approach"), max_length=20)
    sessions = models.PositiveIntegerField(default=0)
    attended = models.PositiveIntegerField(default=0)
    missed = models.PositiveIntegerField(default=0)
    due = models.PositiveIntegerField(default=0)
    answered = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    offered_email = models.PositiveIntegerField(default=0)
    offered_sms = models.PositiveIntegerField(default=0)
    offered_in_session_phone = models.PositiveIntegerField(default=0)
    offered_in_session_device = models.PositiveIntegerField(default=0)
    answered_email = models.PositiveIntegerField(default=0)
    answered_sms = models.PositiveIntegerField(default=0)
    answered_in_session_phone = models.PositiveIntegerField(default=0)
    answered_in_session_device = models.PositiveIntegerField(default=0)
    checkins = models.PositiveIntegerField(default=0)
    total_sum = models.PositiveIntegerField(default=0)
    low = models.PositiveIntegerField(default=0)
    b0 = models.PositiveIntegerField(default=0)
    b1 = models.PositiveIntegerField(default=0)
    b2 = models.PositiveIntegerField(default=0)
    b3 = models.PositiveIntegerField(default=0)
    b4 = models.PositiveIntegerField(default=0)
    b5 = models.PositiveIntegerField(default=0)
    b6 = models.PositiveIntegerField(default=0)
    flags_raised = models.PositiveIntegerField(default=0)
    flags_resolved = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class ClinicDayFigures(DayFigures):
    class Meta:
        verbose_name = _("clinic figures of a day")
        verbose_name_plural = _("clinic figures of a day")
        constraints = [
            models.UniqueConstraint(fields=["clinic", "day", "modality", "approach"], name="clinic_day_figures_key"),
        ]


class TherapistDayFigures(DayFigures):
    # Sessions and check-ins count for the therapist who held the session; flags for the
    # client's current therapist (as the dashboard always has). No foreign key: a row
    # outlives nothing it describes, and the refresh deletes it with its day.
    therapist_id = models.BigIntegerField(_("therapist"))

    class Meta:
        verbose_name = _("therapist figures of a day")
        verbose_name_plural = _("therapist figures of a day")
        constraints = [
            models.UniqueConstraint(fields=["clinic", "therapist_id", "day", "modality", "approach"],
                                    name="therapist_day_figures_key"),
        ]
        indexes = [models.Index(fields=["clinic", "day"], name="therapist_day_figures_day")]


class TherapistCaseload(models.Model):
    """A therapist's active caseload now, per modality: how many clients, how many of
    them with an open flag, and the oldest unacknowledged flag among them. Recomputed
    for the therapist in the transaction of every write that changes it (a client
    added, moved, discharged, reactivated, erased or given another modality; a flag
    raised, acknowledged or resolved), so the clinic's totals row reads a few rows per
    therapist instead of joining every client with every flag."""

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    therapist_id = models.BigIntegerField(_("therapist"))
    modality = models.CharField(_("modality"), max_length=20)
    caseload = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    oldest_unacknowledged = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("therapist caseload")
        verbose_name_plural = _("therapist caseloads")
        constraints = [
            models.UniqueConstraint(fields=["clinic", "therapist_id", "modality"], name="therapist_caseload_key"),
        ]


class StaleFigureDay(models.Model):
    """A clinic-local day whose figures a committed write changed and no refresh has
    recomputed yet. Written in the write's own transaction; deleted by the refresh
    that recomputed the day."""

    clinic = models.ForeignKey("accounts.Clinic", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    marked_at = models.DateTimeField(_("marked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("day of figures to refresh")
        verbose_name_plural = _("days of figures to refresh")
        constraints = [models.UniqueConstraint(fields=["clinic", "day"], name="stale_figure_day_key")]
