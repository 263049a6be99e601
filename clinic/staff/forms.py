from django import forms

from django.utils.translation import gettext_lazy as _

from accounts.models import User


class StaffInviteForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(
        label=_("Role"), choices=[(User.Role.THERAPIST, User.Role.THERAPIST.label),
                                  (User.Role.SUPERVISOR, User.Role.SUPERVISOR.label)],
        initial=User.Role.THERAPIST, required=False,
    )

    def clean_role(self):
        return self.cleaned_data.get("role") or User.Role.THERAPIST

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


class SuperviseesForm(forms.Form):
    """The therapists one supervisor supervises: ticking none ends every assignment."""

    therapists = forms.ModelMultipleChoiceField(
        label=_("Supervises"), queryset=User.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, supervisor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["therapists"].queryset = User.objects.filter(
            clinic_id=supervisor.clinic_id, role=User.Role.THERAPIST, is_active=True,
        ).order_by("full_name", "id")
        self.fields["therapists"].label_from_instance = lambda u: u.full_name or u.email
