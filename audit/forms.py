from django import forms


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
