from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Client


class ClientForm(forms.ModelForm):
    """Add or edit a client. A likely duplicate in the clinic (same name, ignoring case,
    or same email) is refused until the therapist ticks "Save anyway"."""

    confirm_duplicate = forms.BooleanField(
        label="Save anyway: this is a different person", required=False,
    )

    class Meta:
        model = Client
        fields = [
            "display_name", "email", "survey_consent", "phone", "sms_consent", "language", "modality",
            "relationship_approach",
        ]
        labels = {
            "display_name": "Name or initials",
            "email": "Email for check-ins (optional)",
            "survey_consent": "The client agreed to receive check-in emails",
            "phone": "Mobile number for check-ins (optional)",
            "sms_consent": "The client agreed to receive check-in text messages",
            "relationship_approach": "Relationship approach",
        }
        help_texts = {
            "survey_consent": "No check-in is ever emailed without this, an address, and no opt-out.",
            "phone": "With the country code for a number abroad, e.g. +34 612 34 56 78.",
            "sms_consent": "No check-in is ever texted without this, a number, and no STOP reply.",
        }
        error_messages = {
            "phone": {"invalid": "Enter a valid mobile number, e.g. (201) 555-0123 or +34 612 34 56 78."},
        }

    def __init__(self, *args, clinic, **kwargs):
        super().__init__(*args, **kwargs)
        self.clinic = clinic
        self.duplicates = False

    def clean_display_name(self):
        name = " ".join(self.cleaned_data["display_name"].split())
        if not name:
            raise forms.ValidationError("Enter a name or initials.")
        return name

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = self._clean_duplicates()
        if data.get("sms_consent") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "Enter the number the client agreed to be texted at, or untick their consent.")
        return data

    def _clean_duplicates(self):
        data = super().clean()
        name, email = data.get("display_name"), data.get("email")
        if name:
            match = Q(display_name__iexact=name)
            if email:
                match |= Q(email__iexact=email)
            others = Client.objects.filter(clinic=self.clinic).filter(match)
            if self.instance.pk:
                others = others.exclude(pk=self.instance.pk)
            if others.exists() and not data.get("confirm_duplicate"):
                self.duplicates = True
                # Says only that a match exists: the other client may be in someone else's caseload.
                raise forms.ValidationError(
                    "A client with this name or email already exists in your clinic. If this is a "
                    "different person, tick “Save anyway” and save again.",
                    code="duplicate",
                )
        return data


class CaseloadFilterForm(forms.Form):
    q = forms.CharField(label=_("Search by name"), required=False, max_length=100)
    modality = forms.ChoiceField(
        label=_("Modality"), required=False, choices=[("", _("All modalities")), *Client.Modality.choices]
    )
    attention = forms.BooleanField(label=_("Needs attention"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=Client.Status.choices,
    )

    def clean_status(self):
        return self.cleaned_data["status"] or Client.Status.ACTIVE
