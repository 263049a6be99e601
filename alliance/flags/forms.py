from django import forms

from .services import RESPONSE_TEXT_MAX
from alliance.models import Flag


class FlagAcknowledgeForm(forms.Form):
    response = forms.ChoiceField(label="What did you do?", choices=Flag.Response.choices, widget=forms.RadioSelect)
    text = forms.CharField(
        label="Details (required for “Other”)", required=False, max_length=RESPONSE_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": RESPONSE_TEXT_MAX}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("response") == Flag.Response.OTHER and not (data.get("text") or "").strip():
            self.add_error("text", "Say briefly what you did.")
        return data
