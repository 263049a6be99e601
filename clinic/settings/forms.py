from django import forms

from accounts.models import Clinic
from accounts.services import CHANNEL_SETTINGS, FLAG_SETTINGS, LANGUAGE_SETTINGS, SURVEY_SETTINGS


class ClinicSettingsForm(forms.ModelForm):
    """The ranges come from the model's validators; the one rule across two fields is
    checked here (and by a database constraint)."""

    class Meta:
        model = Clinic
        fields = [*LANGUAGE_SETTINGS, *CHANNEL_SETTINGS, *SURVEY_SETTINGS, *FLAG_SETTINGS]

    def clean(self):
        data = super().clean()
        missed, window = data.get("attendance_missed"), data.get("attendance_window")
        if missed is not None and window is not None and missed > window:
            self.add_error("attendance_missed", "Cannot be more than the number of sessions looked at.")
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
