"""Write the audit trail. Every read of a client record or note and every change to
clinical data or settings goes through `audit_record`."""

from .models import AuditEvent


def client_ip(request):
    if request is None:
        return None
    # Behind the production proxy REMOTE_ADDR is the proxy; SecurityMiddleware with
    # SECURE_PROXY_SSL_HEADER does not rewrite it, so take the first forwarded hop.
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return (forwarded.split(",")[0].strip() or request.META.get("REMOTE_ADDR")) or None


def audit_record(*, action, actor=None, obj=None, clinic=None, request=None, detail=None):
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if clinic is None:
        clinic = getattr(obj, "clinic", None) or getattr(actor, "clinic", None)
    return AuditEvent.objects.create(
        clinic=clinic,
        actor=actor,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        ip=client_ip(request),
        detail=detail or {},
    )
