"""Audit rows for events that happen inside Django or its add-ons rather than in our
services: logins, logouts, failed logins, lockouts, changes to staff accounts, and edits
made through the Django admin. Each row holds ids, field names and the attempted email
at most; never a password, a token, or clinical text."""

from axes.signals import user_locked_out
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .context import current_request
from .services import audit_record

User = get_user_model()

# Fields whose change is an event of its own or pure bookkeeping.
_QUIET_USER_FIELDS = {"last_login"}


def _user_by_email(email):
    if not email:
        return None
    return User.objects.filter(email__iexact=str(email).strip()).select_related("clinic").first()


@receiver(user_logged_in, dispatch_uid="audit_login")
def _on_login(sender, request, user, **kwargs):
    audit_record(action="auth.login", actor=user, obj=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _on_logout(sender, request, user, **kwargs):
    if user is None:
        return
    reason = getattr(request, "rapport_logout_reason", "user")
    audit_record(action="auth.logout", actor=user, obj=user, request=request, detail={"reason": reason})


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password with asterisks in `credentials`.
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:254]
    user = _user_by_email(attempted)
    audit_record(
        action="auth.login_failed",
        actor=None,
        obj=user,
        clinic=getattr(user, "clinic", None),
        request=_anonymous(request),
        detail={"username": attempted, "known_user": user is not None},
    )


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def _on_locked_out(sender, request, username, ip_address, **kwargs):
    user = _user_by_email(username)
    audit_record(
        action="auth.lockout",
        obj=user,
        clinic=getattr(user, "clinic", None),
        request=_anonymous(request),
        detail={"username": username or "", "ip": ip_address or ""},
    )


@receiver(pre_save, sender=User, dispatch_uid="audit_user_before")
def _remember_user_before(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    fields = [f.attname for f in sender._meta.concrete_fields]
    instance._audit_before = sender.objects.filter(pk=instance.pk).values(*fields).first()


@receiver(post_save, sender=User, dispatch_uid="audit_user_after")
def _record_user_change(sender, instance, created, raw=False, update_fields=None, **kwargs):
    request = current_request.get()
    # Only changes made while serving a request: scripts and management commands that
    # change staff accounts record their own rows with what they know (who ran them).
    if raw or request is None:
        return
    if created:
        audit_record(action="user.create", obj=instance, request=request, detail={"role": instance.role})
        return
    before = getattr(instance, "_audit_before", None) or {}
    changed = sorted(
        name for name, old in before.items() if getattr(instance, name, None) != old and name not in _QUIET_USER_FIELDS
    )
    if not changed:
        return
    # Name the password as changed, never its hash.
    audit_record(action="user.update", obj=instance, request=request, detail={"fields": changed})


@receiver(post_save, sender=LogEntry, dispatch_uid="audit_admin_edit")
def _record_admin_edit(sender, instance, created, raw=False, **kwargs):
    if raw or not created:
        return
    action = {1: "admin.add", 2: "admin.change", 3: "admin.delete"}.get(instance.action_flag, "admin.action")
    model = instance.content_type.model if instance.content_type_id else ""
    audit_record(
        action=action,
        actor=instance.user,
        clinic=getattr(instance.user, "clinic", None),
        request=current_request.get(),
        detail={"model": model, "id": instance.object_id or ""},
    )


def _anonymous(request):
    """A request for its address only: failed logins have no authenticated actor."""
    if request is None:
        return None

    class _Addr:
        META = request.META
        user = None

    _Addr.user = type("Anon", (), {"is_authenticated": False})()
    return _Addr
