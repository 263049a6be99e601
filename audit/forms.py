from datetime import date

from django import forms

# Far outside any real audit row, and far enough from date.min/max that converting a
# day to an aware datetime range can never overflow.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


class AuditFilterForm(forms.Form):
    """Filters of the clinic audit page; every field optional, all combined with AND."""

    actor = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone")
    action = forms.ChoiceField(required=False)
    object_type = forms.CharField(required=False, max_length=40, label="Record type")
    object_id = forms.CharField(required=False, max_length=40, label="Record id")
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, staff, actions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = staff
        self.fields["action"].choices = [("", "Any action"), *[(a, a) for a in actions]]

    def _clean_day(self, name):
        day = self.cleaned_data.get(name)
        if day is not None and not EARLIEST <= day <= LATEST:
            raise forms.ValidationError(f"Pick a date between {EARLIEST:%Y} and {LATEST:%Y}.")
        return day

    def clean_date_from(self):
        return self._clean_day("date_from")

    def clean_date_to(self):
        return self._clean_day("date_to")
