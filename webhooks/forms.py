from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .destinations import destination_check
from .models import SUBSCRIBABLE_EVENTS, Subscription


class SubscriptionForm(forms.Form):
    url = forms.URLField(
        label=_("URL"), max_length=500, assume_scheme="https",
        help_text=_("Where the clinic's system receives events. Rapport POSTs JSON there, signed."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=SUBSCRIBABLE_EVENTS, widget=forms.CheckboxSelectMultiple,
        initial=[value for value, _label in SUBSCRIBABLE_EVENTS],
        error_messages={"required": _("Choose at least one event.")},
    )
    scope = forms.ChoiceField(
        label=_("What deliveries carry"), choices=Subscription.Scope.choices, initial=Subscription.Scope.SCORES,
        widget=forms.RadioSelect,
        help_text=_("Ids, scores and times always; a client's comment only if you choose so. Never session notes."),
    )

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            destination_check(url)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None
        return url
