"""The client's check-in form: four dimensions on 0–10 and an optional comment.

Error messages come from the client's language (alliance/checkins/text.py), so the form
is built with the language it is answered in."""

from django import forms

from .text import DIMENSIONS, text_for

SCALE = [(str(n), str(n)) for n in range(11)]
COMMENT_MAX = 2000


class CheckInForm(forms.Form):
    comment = forms.CharField(required=False, max_length=COMMENT_MAX, strip=True, widget=forms.Textarea)

    def __init__(self, *args, language="en", **kwargs):
        super().__init__(*args, **kwargs)
        text = text_for(language)
        messages = {"required": text["choose"], "invalid_choice": text["choose"]}
        for name in DIMENSIONS:
            self.fields[name] = forms.TypedChoiceField(
                label=text["questions"][name], choices=SCALE, coerce=int, widget=forms.RadioSelect,
                error_messages=messages,
            )
        self.fields["comment"].label = text["comment"]
        self.fields["comment"].error_messages["max_length"] = text["comment_too_long"]
        # Dimensions first, in the instrument's order, then the comment.
        self.order_fields([*DIMENSIONS, "comment"])

    def scores(self):
        return {name: self.cleaned_data[name] for name in DIMENSIONS}

    def dimensions(self):
        """(name, question, bound field, chosen value) for the template, which draws
        the radio buttons itself to make them large touch targets."""
        return [(name, self.fields[name].label, self[name], self.data.get(name, "")) for name in DIMENSIONS]
