from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import ApiKey, Scope


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=ApiKey._meta.get_field("name").max_length,
        help_text=_("Which system will use it, e.g. “EHR sync”."),
        error_messages={"required": _("Give the key a name.")},
    )
    scopes = forms.MultipleChoiceField(
        label=_("What it may do"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one thing the key may do.")},
    )

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError(_("Give the key a name."))
        return name
