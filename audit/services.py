"""Write the audit trail. Every read of a client record or note and every change to
clinical data or settings goes through `audit_record`."""

import ipaddress

from django.conf import settings

from .models import AuditEvent


def client_ip(request):
    """The address the request came from, as our own proxies saw it.

    Behind the production proxy REMOTE_ADDR is the proxy, and X-Forwarded-For holds
    "whatever the client claimed, …, what each proxy saw". Only the hops our own
    proxies appended (settings.TRUSTED_PROXY_COUNT, counted from the right) can be
    believed: taking the left end would let anyone write their own address into the
    audit trail or rotate it to escape the login lockout. Also used by django-axes and
    the rate limits, so all three agree on who a client is.
    """
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < proxies:
        return remote
    candidate = hops[-proxies]
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


def audit_record(
    *, action, actor=None, obj=None, clinic=None, request=None, detail=None, object_type=None, object_id=None,
    record_ip=True,
):
    """Append one row. `object_type`/`object_id` name a record that no longer exists
    (an erased client), where `obj` cannot. Without `request`, the request being served
    (if any) still supplies the address, so a service that forgot to pass it cannot
    leave a row without "from where"."""
    event = _event(
        action=action, actor=actor, obj=obj, clinic=clinic, request=request, detail=detail,
        object_type=object_type, object_id=object_id, record_ip=record_ip,
    )
    event.save(force_insert=True)
    return event


def audit_record_many(records):
    """Append many rows in one INSERT: each record is the keyword arguments of
    `audit_record`. For a batch that does one thing to many objects (an outbox batch
    marking its emails sent)."""
    return AuditEvent.objects.bulk_create([_event(**record) for record in records])


def _event(
    *, action, actor=None, obj=None, clinic=None, request=None, detail=None, object_type=None, object_id=None,
    record_ip=True,
):
    if request is None:
        from .context import current_request

        request = current_request.get()
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    if clinic is None:
        clinic = getattr(obj, "clinic", None) or getattr(actor, "clinic", None)
    api_key = getattr(request, "api_key", None) if request is not None else None
    if api_key is not None:
        # A write made through the REST API (api/): the row names the key as well as
        # the person (the admin who made it, or the therapist the service acted for).
        detail = {**(detail or {}), "api_key": api_key.prefix}
    return AuditEvent(
        clinic=clinic,
        actor=actor,
        action=action,
        object_type=object_type if object_type is not None else (obj._meta.model_name if obj is not None else ""),
        object_id=str(object_id) if object_id is not None else (str(obj.pk) if obj is not None else ""),
        # record_ip=False for clients acting by email link: they have no account, and
        # their address is personal data the clinic has no use for.
        ip=client_ip(request) if record_ip else None,
        detail=detail or {},
    )
