from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from clients.models import Client

from .selectors import Filters, default_range

MAX_RANGE_DAYS = 5 * 366


class DashboardFilterForm(forms.Form):
    """The dashboard's GET filters. Every field is optional; a bad value answers 400
    with the reason rather than quietly showing something else."""

    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    # The largest id a BigAutoField can hold: a larger number is simply not a therapist.
    therapist = forms.IntegerField(label=_("Therapist"), required=False, min_value=1, max_value=2**63 - 1)
    modality = forms.ChoiceField(
        label=_("Modality"), required=False, choices=[("", _("All modalities")), *Client.Modality.choices]
    )
    period = forms.ChoiceField(label=_("Group by"), required=False, choices=[("week", _("Week")), ("month", _("Month"))])

    def __init__(self, data, *, clinic, therapist_choices=None, **kwargs):
        super().__init__(data, **kwargs)
        self.clinic = clinic
        # The clinic's therapists, as (id, name). The dashboard loads them with its own
        # figures (saving a query), so they may be set after validation; see
        # `check_therapist`.
        self.therapist_choices = therapist_choices

    # Dates far outside any clinic's history would overflow date arithmetic downstream.
    EARLIEST, LATEST = date(1900, 1, 1), date(2200, 12, 31)

    def _clean_date(self, name):
        value = self.cleaned_data.get(name)
        if value and not (self.EARLIEST <= value <= self.LATEST):
            raise forms.ValidationError(f"Enter a date between {self.EARLIEST.year} and {self.LATEST.year}.")
        return value

    def clean_date_from(self):
        return self._clean_date("date_from")

    def clean_date_to(self):
        return self._clean_date("date_to")

    def clean_therapist(self):
        value = self.cleaned_data.get("therapist")
        if value and self.therapist_choices is not None and value not in dict(self.therapist_choices):
            raise forms.ValidationError(self.UNKNOWN_THERAPIST)
        return value

    UNKNOWN_THERAPIST = "Select a valid choice: that therapist is not in your clinic."

    def check_therapist(self, therapist_choices):
        """Validate the therapist against the clinic's list once it is known. Returns
        False (with the error on the form) for an id outside the clinic."""
        self.therapist_choices = therapist_choices
        value = self.cleaned_data.get("therapist")
        if value and value not in dict(therapist_choices):
            self.add_error("therapist", self.UNKNOWN_THERAPIST)
            return False
        return True

    def clean(self):
        data = super().clean()
        default_from, default_to = default_range(self.clinic)
        date_to = data.get("date_to") or default_to
        date_from = data.get("date_from") or (date_to - (default_to - default_from))
        if "date_from" in self.errors or "date_to" in self.errors:
            return data
        if date_from > date_to:
            raise forms.ValidationError("The start date must be on or before the end date.")
        if date_to - date_from > timedelta(days=MAX_RANGE_DAYS):
            raise forms.ValidationError("Choose a range of at most five years.")
        data["date_from"], data["date_to"] = date_from, date_to
        return data

    def filters(self):
        d = self.cleaned_data
        return Filters(
            clinic=self.clinic, date_from=d["date_from"], date_to=d["date_to"], therapist_id=d.get("therapist"),
            modality=d.get("modality") or "", period=d.get("period") or "week",
        )
