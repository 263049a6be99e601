"""Who may reach what, decided here for every app's views. Object-level checks (is this
client in the user's caseload?) live next to each app's selectors, which answer 404 for
anything the user may not reach, so a guessed id reveals nothing; whom a supervisor may
read is decided once, by supervisees_of, and the selectors ask it.

Roles:
- therapist: their own caseload, notes and comments, and acts on its flags;
- clinic_admin: the whole clinic's scores and settings, never a note or a comment;
- supervisor: the caseloads, client charts, flags and calibration of the therapists of
  their clinic assigned to them (accounts.models.Supervision), read-only, never a note,
  never a comment, every read audited.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404


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
supervisor_required = role_required("supervisor")
staff_required = role_required("therapist", "clinic_admin")
# Pages that also show a supervisee's record to their supervisor (read-only).
reader_required = role_required("therapist", "clinic_admin", "supervisor")


def supervisees_of(user):
    """The active therapists of the user's own clinic assigned to this supervisor; none
    for anyone else. Every supervisor read starts here: an assignment naming a
    therapist of another clinic (or a deactivated one) gives nothing."""
    from .models import User

    if not getattr(user, "is_authenticated", False) or user.clinic_id is None or not user.is_supervisor:
        return User.objects.none()
    return User.objects.filter(
        clinic_id=user.clinic_id, role=User.Role.THERAPIST, is_active=True,
        supervised_by__supervisor=user, supervised_by__clinic_id=user.clinic_id,
    )


def supervisee_or_404(user, pk):
    """One of the supervisor's supervisees; any other id (another clinic's therapist, a
    colleague not assigned to them) answers 404."""
    return get_object_or_404(supervisees_of(user).select_related("clinic"), pk=pk)
