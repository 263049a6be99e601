"""Role checks shared by every app's views. Object-level checks (is this client in the
user's caseload?) live next to each app's selectors, which answer 404 for anything the
user may not reach, so a guessed id reveals nothing."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def role_required(*roles):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if request.user.role not in roles or request.user.clinic_id is None:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


therapist_required = role_required("therapist")
clinic_admin_required = role_required("clinic_admin")
staff_required = role_required("therapist", "clinic_admin")
