from django import forms

from accounts.models import Clinic
from accounts.services import FLAG_SETTINGS, SURVEY_SETTINGS


class ClinicSettingsForm(forms.ModelForm):
    """The ranges come from the model's validators; the one rule across two fields is
    checked here (and by a database constraint)."""

    class Meta:
        model = Clinic
        fields = [*SURVEY_SETTINGS, *FLAG_SETTINGS]

    def clean(self):
        data = super().clean()
        missed, window = data.get("attendance_missed"), data.get("attendance_window")
        if missed is not None and window is not None and missed > window:
            self.add_error("attendance_missed", "Cannot be more than the number of sessions looked at.")
        return data

    def changes(self):
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
