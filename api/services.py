"""Writes of API keys, each in one transaction with its audit row (never the secret)."""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record

from . import keys
from .models import ApiKey, Scope


@transaction.atomic
def api_key_create(*, clinic, by, name, scopes, request=None):
    """Make a key for the clinic. Returns (key, secret): the secret exists only in this
    return value, to be shown once; the database keeps its digest."""
    unknown = set(scopes) - set(Scope.values)
    if unknown:
        raise ValueError(f"Unknown scopes: {sorted(unknown)}")
    prefix, secret, digest = keys.new_secret()
    key = ApiKey.objects.create(
        clinic=clinic, name=name, prefix=prefix, secret_hash=digest,
        scopes=[s for s in Scope.values if s in scopes], created_by=by,
    )
    audit_record(
        action="api_key.create", actor=by, obj=key, clinic=clinic, request=request,
        detail={"prefix": prefix, "scopes": key.scopes},
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, key, by, request=None):
    """Revoke a key: from the next request on it answers 401. Revoking twice is harmless."""
    now = timezone.now()
    if not ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now, revoked_by=by):
        return key
    key.refresh_from_db()
    audit_record(action="api_key.revoke", actor=by, obj=key, clinic=key.clinic, request=request, detail={"prefix": key.prefix})
    return key


def api_key_touch(*, key, now=None, every_seconds=60):
    """Record that the key was used. At most one write a minute per key: a sync job
    polling in a loop must not turn every read into a write."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=every_seconds)
    ApiKey.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale), pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
