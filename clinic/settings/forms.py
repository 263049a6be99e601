from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Clinic
from accounts.services import CHANNEL_SETTINGS, FLAG_SETTINGS, LANGUAGE_SETTINGS, SURVEY_SETTINGS


class ClinicSettingsForm(forms.ModelForm):
    """The ranges come from the model's validators; the one rule across two fields is
    checked here (and by a database constraint)."""

    class Meta:
        model = Clinic
        fields = [*LANGUAGE_SETTINGS, *CHANNEL_SETTINGS, *SURVEY_SETTINGS, *FLAG_SETTINGS]
        labels = {
            "email_checkins": _("Ask by email"),
            "sms_checkins": _("Ask by text message"),
            "survey_delay_hours": _("Survey delay hours"),
            "reminder_after_hours": _("Reminder after hours"),
            "expiry_days": _("Expiry days"),
            "max_send_attempts": _("Max send attempts"),
            "low_total_below": _("Low total below"),
            "low_dimension_below": _("Low dimension below"),
            "drop_points": _("Drop points"),
            "declining_run": _("Declining run"),
            "discrepancy_points": _("Discrepancy points"),
            "no_feedback_expired": _("No feedback expired"),
            "attendance_missed": _("Attendance missed"),
            "attendance_window": _("Attendance window"),
        }
        help_texts = {
            "email_checkins": _("Email each check-in to clients who agreed to emails."),
            "sms_checkins": _("Text each check-in to clients who agreed to text messages (needs an SMS provider)."),
            "survey_delay_hours": _("Hours after a session ends before its check-in is emailed (0–72)."),
            "reminder_after_hours": _("Hours after sending before one reminder goes to a client who has not answered."),
            "expiry_days": _("Days after sending until a check-in link expires."),
            "max_send_attempts": _("Delivery attempts before an invitation is marked failed."),
            "low_total_below": _("Low alliance: client total below this (0–40)."),
            "low_dimension_below": _("Low alliance: any dimension below this (0–10)."),
            "drop_points": _("Drop: client total fell by at least this many points since the previous check-in."),
            "declining_run": _("Declining trend: this many check-ins in a row, each lower than the last."),
            "discrepancy_points": _("Discrepancy: therapist total exceeds client total by at least this much."),
            "no_feedback_expired": _("No feedback: this many most recent invitations expired unanswered."),
            "attendance_missed": _("Attendance: at least this many no-shows or late cancellations…"),
            "attendance_window": _("…among this many most recent scheduled sessions."),
        }

    def clean(self):
        data = super().clean()
        missed, window = data.get("attendance_missed"), data.get("attendance_window")
        if missed is not None and window is not None and missed > window:
            self.add_error("attendance_missed", _("Cannot be more than the number of sessions looked at."))
        return data

    def group(self, names):
        return [self[name] for name in names]

    @property
    def channel_fields(self):
        return self.group(CHANNEL_SETTINGS)

    @property
    def survey_fields(self):
        return self.group(SURVEY_SETTINGS)

    @property
    def flag_fields(self):
        return self.group(FLAG_SETTINGS)

    def changes(self):
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
