from django import forms
from django.utils.translation import gettext_lazy as _

from .guidance import strategy_choices
from .services import NOTE_MAX


class FlagAcknowledgeForm(forms.Form):
    """What the therapist did about one flag: the strategies its kind offers, and a
    private note (readable by its author alone)."""

    strategies = forms.MultipleChoiceField(
        label=_("What did you do?"), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one thing you did.")},
    )
    note = forms.CharField(
        label=_("Private note (only you can read it; required for “Something else”)"), required=False,
        max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2, "maxlength": NOTE_MAX}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["strategies"].choices = strategy_choices(kind)

    def clean(self):
        data = super().clean()
        if data.get("strategies") == ["other"] and not (data.get("note") or "").strip():
            self.add_error("note", _("Say briefly what you did."))
        return data
