from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .forms import LoginForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    # Django 5 only accepts POST for logout, so a link or prefetch cannot log anyone out.
    template_name = "accounts/logged_out.html"


@login_required
def home(request):
    # A therapist's home is their caseload.
    if request.user.is_therapist and request.user.clinic_id is not None:
        return redirect("caseload")
    if request.user.is_clinic_admin and request.user.clinic_id is not None:
        return redirect("clinic_dashboard")
    return render(request, "accounts/home.html")
