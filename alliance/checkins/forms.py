"""The client's check-in form: four dimensions on 0–10 and an optional comment.

Its labels and errors are lazy translations: they come out in the language active when
the page is rendered, which for a client is their own (alliance/checkins/views.py)."""

from django import forms
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .wording import DIMENSIONS, QUESTIONS

COMMENT_MAX = 2000
SCALE = [(str(n), str(n)) for n in range(11)]
CHOOSE = _("Please choose a number from 0 to 10.")


def _comment_too_long():
    # "2,000" in English, "2.000" in Spanish: the number follows the language.
    return gettext("Please keep your comment to %(max)s characters or fewer.") % {
        "max": number_format(COMMENT_MAX, force_grouping=True)
    }


def _dimension_field(name):
    # A whole number from 0 to 10, every way of getting it wrong answered the same.
    # Not a ChoiceField: the page draws the scale itself (partials/scale.html, from
    # SCALE), and copying a choice field's choices for every form was most of what
    # validating an answer cost.
    return forms.IntegerField(
        label=QUESTIONS[name], min_value=0, max_value=10, widget=forms.HiddenInput,
        error_messages={code: CHOOSE for code in ("required", "invalid", "min_value", "max_value")},
    )


class CheckInForm(forms.Form):
    # Declared once, in the instrument's order, then the comment (Django copies the
    # declared fields for each form; building them anew on every answer cost more).
    trust = _dimension_field("trust")
    empathy = _dimension_field("empathy")
    boundaries = _dimension_field("boundaries")
    collaboration = _dimension_field("collaboration")
    comment = forms.CharField(
        label=_("Anything else you would like to say? (optional)"),
        required=False, max_length=COMMENT_MAX, strip=True, widget=forms.Textarea,
        error_messages={"max_length": lazy(_comment_too_long, str)()},
    )

    def scores(self):
        return {name: self.cleaned_data[name] for name in DIMENSIONS}

    def dimensions(self):
        """(name, question, bound field, chosen value, choices) for the template, which draws
        the radio buttons itself to make them large touch targets."""
        return [(name, self.fields[name].label, self[name], self.data.get(name, ""), SCALE) for name in DIMENSIONS]
