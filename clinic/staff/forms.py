from django import forms

from accounts.models import User


class StaffInviteForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email")

    def clean_email(self):
        # Whether the address is taken is the service's question: the answer depends on
        # whose clinic it is in (accounts.services.staff_invite).
        return self.cleaned_data["email"].strip().lower()


class ReassignForm(forms.Form):
    to_therapist = forms.ModelChoiceField(label="Move to", queryset=User.objects.none())
    clients = forms.MultipleChoiceField(
        label="Clients", required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to move the whole caseload.",
    )

    def __init__(self, *args, from_therapist, client_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_therapist"].queryset = User.objects.filter(
            clinic_id=from_therapist.clinic_id, role=User.Role.THERAPIST, is_active=True
        ).exclude(pk=from_therapist.pk).order_by("full_name")
        self.fields["clients"].choices = client_choices

    def client_ids(self):
        ids = [int(i) for i in self.cleaned_data["clients"]]
        return ids or None
