from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from . import two_factor
from languages.middleware import staff_language

from . import services
from .forms import LanguageForm, LoginForm, PasswordResetForm, TwoFactorTokenForm
from .lockout import ratelimit_ip


def rate_limited(request, exception=None):
    """429 with a plain explanation; the page says nothing about which limit was hit."""
    return render(request, "accounts/rate_limited.html", status=429)


def limit_posts_per_ip(group, rate_setting):
    """Refuse POSTs beyond settings.<rate_setting> per client address with a 429.
    Only POSTs count, so reloading the form never locks anyone out."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST" and is_ratelimited(
                request, group=group, key=ratelimit_ip, rate=getattr(settings, rate_setting),
                method="POST", increment=True,
            ):
                return rate_limited(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


@method_decorator(limit_posts_per_ip("login", "LOGIN_RATE_PER_IP"), name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    # Django 5 only accepts POST for logout, so a link or prefetch cannot log anyone out.
    template_name = "accounts/logged_out.html"


# --- Password reset (Django's views, our templates, a per-IP limit) ---------------------

@method_decorator(limit_posts_per_ip("password_reset", "PASSWORD_RESET_RATE_PER_IP"), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "emails/password_reset.txt"
    subject_template_name = "emails/password_reset_subject.txt"
    form_class = PasswordResetForm
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


@method_decorator(limit_posts_per_ip("password_reset", "PASSWORD_RESET_RATE_PER_IP"), name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


# --- Second factor -------------------------------------------------------------------

def _next_url(request, default="home"):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(default)


@never_cache
@login_required
def two_factor_setup(request):
    """First login: scan the QR code, type the code from the app, receive recovery codes.
    A user who already has an authenticator must verify with it instead, so a stolen
    password alone can never replace the second factor."""
    if two_factor.session_is_verified(request):
        return redirect("home")
    if two_factor.user_has_confirmed_device(request.user):
        return redirect("two_factor_verify")
    device = two_factor.pending_totp_device(request.user)
    form = TwoFactorTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.totp_enrol(user=request.user, device=device, token=form.cleaned_data["code"], request=request)
        if codes is not None:
            return render(request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "next": _next_url(request)})
        form.add_error("code", "That code did not match. Check the time on your phone and try the newest code.")
    return render(request, "accounts/two_factor/setup.html", {
        "form": form,
        "qr_code": two_factor.qr_code_data_uri(device),
        "secret": two_factor.base32_key(device),
        "next": request.GET.get("next", ""),
    })


@never_cache
@login_required
@limit_posts_per_ip("two_factor_verify", "LOGIN_RATE_PER_IP")
def two_factor_verify(request):
    if two_factor.session_is_verified(request):
        return redirect(_next_url(request))
    if not two_factor.user_has_confirmed_device(request.user):
        return redirect("two_factor_setup")
    form = TwoFactorTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify(user=request.user, token=form.cleaned_data["code"], request=request)
        if device is not None:
            return redirect(_next_url(request))
        if two_factor.code_was_already_used(user=request.user, token=form.cleaned_data["code"]):
            form.add_error("code", "That code has already been used. Wait for the next code in your app (a new one "
                                   "appears every 30 seconds) and enter that one.")
        else:
            form.add_error("code", "That code did not match. Use the newest code from your app, or a recovery code.")
    return render(request, "accounts/two_factor/verify.html", {"form": form, "next": request.GET.get("next", "")})


@never_cache
@login_required
@require_POST
def two_factor_recovery_codes(request):
    """Issue a fresh set of recovery codes (the old ones stop working)."""
    codes = two_factor.recovery_codes_regenerate(user=request.user, request=request)
    messages.success(request, "New recovery codes issued; the old ones no longer work.")
    return render(request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "next": reverse("home")})


@login_required
def home(request):
    # A therapist's home is their caseload.
    if request.user.is_therapist and request.user.clinic_id is not None:
        return redirect("caseload")
    if request.user.is_clinic_admin and request.user.clinic_id is not None:
        return redirect("clinic_dashboard")
    if request.user.is_supervisor and request.user.clinic_id is not None:
        return redirect("supervision_home")
    return render(request, "accounts/home.html")


@login_required
@require_http_methods(["GET", "POST"])
def account_language(request):
    """The language of the user's own pages: English, Spanish, or the clinic's."""
    user = request.user
    clinic_language = user.clinic.get_language_display() if user.clinic_id else "English"
    form = LanguageForm(request.POST or None, initial={"language": user.language}, clinic_language_name=clinic_language)
    if request.method == "POST" and form.is_valid():
        services.user_language_set(user=user, language=form.cleaned_data["language"], request=request)
        # The confirmation is in the language just chosen.
        with translation.override(staff_language(user)):
            messages.success(request, _("Your pages are now in %(language)s.") % {
                "language": translation.get_language_info(staff_language(user))["name_local"]
            })
        return redirect("home")
    return render(request, "accounts/language.html", {"form": form}, status=400 if form.errors else 200)
