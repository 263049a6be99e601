from django.conf import settings
from django.core.exceptions import PermissionDenied
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
        # A logged-in therapist or clinic admin is not a platform operator: sending them
        # to the login page would send them straight back here (our login page redirects
        # a logged-in user to `next`), round and round. They get the normal 403 page. A
        # staff member who has not passed the second factor yet is sent to do so.
        if request.user.is_authenticated:
            if not (request.user.is_active and request.user.is_staff):
                raise PermissionDenied
            return redirect_to_login(request.GET.get("next") or reverse("admin:index"), reverse("two_factor_verify"))
        return redirect_to_login(request.GET.get("next") or reverse("admin:index"), settings.LOGIN_URL)
