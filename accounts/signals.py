import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .middleware import LOGIN_AT_SESSION_KEY


@receiver(user_logged_in, dispatch_uid="accounts_login_time")
def _remember_login_time(sender, request, user, **kwargs):
    """Start the absolute session clock (accounts.middleware.SessionAbsoluteTimeoutMiddleware)."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_SESSION_KEY] = int(time.time())
