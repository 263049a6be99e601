from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import StaffLanguage


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    error_messages = {
        "invalid_login": _("That email and password do not match an active account."),
        "inactive": _("This account is inactive."),
    }


class TwoFactorTokenForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The 6-digit code from your authenticator app, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's form; it answers the same whether or not the email has an account."""

    email = forms.EmailField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class LanguageForm(forms.Form):
    """A staff member's own language, or their clinic's (the empty choice)."""

    language = forms.ChoiceField(label=_("Language of your pages"), required=False)

    def __init__(self, *args, clinic_language_name="", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("The clinic's language (%(language)s)") % {"language": clinic_language_name}),
            *StaffLanguage.choices,
        ]
