from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django_otp.admin import OTPAdminSite


class RapportAdminSite(OTPAdminSite):
    """The Django admin for platform operators: staff flag, and a session verified with
    the second factor (OTPAdminSite). There is one login page for everyone, ours, with
    its lockout and rate limit; the admin's own login form is never shown."""

    site_header = "Rapport administration"
    site_title = "Rapport admin"

    def __init__(self, name="admin"):
        super().__init__(name)

    def login(self, request, extra_context=None):
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"), settings.LOGIN_URL)
