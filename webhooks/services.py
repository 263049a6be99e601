"""Writes of webhooks: the events, written durably as outbox rows beside the change they
announce, and the clinic admin's subscriptions (made, turned off and on, deleted, sent a
test event). Each subscription write is one transaction with its audit row.

Where the events are written (DESIGN.md, "Hot paths"):
- flag raised / flag resolved: by `flags_recompute_for_client` (alliance/flags/rules.py),
  the single place flags change, in the same transaction as the change;
- check-in received: by the after-commit flags refresh (alliance/flags/refresh.py), not
  in the answer's own transaction, which stays as small as the client's POST needs. The
  refresh task and the stale-flags sweep can both write the same answer's event; the
  idempotency key "checkin:<id>" is unique per subscription, so the second is a no-op.

What a payload carries: ids (Rapport's, and the clinic's own id for the client when the
client record has one), scores, kinds and times. Never a note, a name, an email address
or a phone number; a client's comment only under the "scores and comments" scope, and
even then it is not stored in the outbox row but read when the delivery is sent."""

import logging
import uuid
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record

from .destinations import destination_check
from .models import SUBSCRIBABLE_EVENTS, Delivery, Event, Subscription
from .outbox import dispatch_soon
from .signing import new_secret

log = logging.getLogger(__name__)

# --- Payloads ---------------------------------------------------------------------------


def _time(value):
    return value.isoformat() if value is not None else None


def _client_ref(client):
    # TODO(issue 17): Client.external_id arrives with the REST API; until then it is None.
    return {"id": client.pk, "external_id": getattr(client, "external_id", None) or None}


def _envelope(key, event, clinic_id, data, now):
    return {"id": key, "type": event, "created_at": _time(now), "clinic_id": clinic_id, "data": data}


def checkin_data(checkin):
    """A client's check-in as a payload carries it: ids, scores, channel and times."""
    from alliance.models import SCORE_FIELDS

    session = checkin.session
    return {
        "checkin": {
            "id": checkin.pk,
            "client": _client_ref(checkin.client),
            "session": {"id": session.pk, "scheduled_start": _time(session.scheduled_start)},
            "source": checkin.source,
            "channel": checkin.channel,
            "submitted_at": _time(checkin.submitted_at),
            "scores": {field: getattr(checkin, field) for field in SCORE_FIELDS},
            "total": sum(getattr(checkin, field) for field in SCORE_FIELDS),
        }
    }


def flag_data(flag, client):
    return {
        "flag": {
            "id": flag.pk,
            "kind": flag.kind,
            "severity": flag.severity,
            "client": _client_ref(client),
            "session_id": flag.session_id,
            # "Why it fired, in numbers only" (alliance.models.Flag.detail).
            "detail": flag.detail,
            "raised_at": _time(flag.raised_at),
            "acknowledged_at": _time(flag.acknowledged_at),
            "resolved_at": _time(flag.resolved_at),
        }
    }


# --- Events -------------------------------------------------------------------------------


def _collecting(subscriptions, event):
    return [s for s in subscriptions if s.collects_events and event in s.events]


def _write(rows):
    """Insert outbox rows; one already written under its key is left as it is."""
    if not rows:
        return 0
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    transaction.on_commit(dispatch_soon)
    return len(rows)


def webhook_events_for_flags(*, client, raised, resolved, now=None):
    """Write "flag raised" and "flag resolved" for the subscriptions of the client's
    clinic. Call it inside the transaction that changed the flags. Costs nothing when no
    flag changed, and one query when the clinic has no subscription."""
    if not raised and not resolved:
        return 0
    now = now or timezone.now()
    subscriptions = list(Subscription.objects.filter(clinic_id=client.clinic_id).only("id", "events", "is_active", "disabled_reason"))
    rows = []
    for event, flags in ((Event.FLAG_RESOLVED, resolved), (Event.FLAG_RAISED, raised)):
        for subscription in _collecting(subscriptions, event):
            for flag in flags:
                key = f"{'flag-raised' if event == Event.FLAG_RAISED else 'flag-resolved'}:{flag.pk}"
                rows.append(Delivery(
                    subscription=subscription, event=event, idempotency_key=key, created_at=now, next_attempt_at=now,
                    payload=_envelope(key, event, client.clinic_id, flag_data(flag, client), now),
                ))
    return _write(rows)


def webhook_events_for_checkins(*, client_id, checkin_ids, now=None):
    """Write "check-in received" for these client check-ins (of one client) for the
    subscriptions of the client's clinic. Idempotent: see the module docstring."""
    from alliance.models import CheckIn

    if not checkin_ids:
        return 0
    now = now or timezone.now()
    subscriptions = _collecting(
        Subscription.objects.filter(clinic__clients__id=client_id).only("id", "clinic_id", "events", "is_active", "disabled_reason"),
        Event.CHECKIN_RECEIVED,
    )
    if not subscriptions:
        return 0
    checkins = (
        CheckIn.objects.filter(pk__in=checkin_ids, client_id=client_id, source=CheckIn.Source.CLIENT)
        .select_related("session", "client").defer("comment").order_by("submitted_at", "id")
    )
    rows = []
    for checkin in checkins:
        key = f"checkin:{checkin.pk}"
        data = checkin_data(checkin)
        for subscription in subscriptions:
            rows.append(Delivery(
                subscription=subscription, event=Event.CHECKIN_RECEIVED, idempotency_key=key, created_at=now,
                next_attempt_at=now, payload=_envelope(key, Event.CHECKIN_RECEIVED, subscription.clinic_id, data, now),
            ))
    return _write(rows)


def webhook_deliveries_forget_client(*, clinic_id, client_id):
    """Delete every delivery about this client, sent or waiting: called when the client
    is erased (clinic/rights/services.py), so neither the log nor a retry keeps their
    scores. Returns how many went."""
    about = Q(payload__data__checkin__client__id=client_id) | Q(payload__data__flag__client__id=client_id)
    deleted, _ = Delivery.objects.filter(about, subscription__clinic_id=clinic_id).delete()
    return deleted


# --- Subscriptions ------------------------------------------------------------------------


def _host(url):
    return urlsplit(url).hostname or ""


@transaction.atomic
def subscription_create(*, clinic, url, events, scope, by, request=None):
    """Subscribe `url` to `events`. Returns (subscription, secret): the secret is for
    the admin to copy now; no page shows it again."""
    destination_check(url)
    events = [e for e, _label in SUBSCRIBABLE_EVENTS if e in set(events)]
    if not events:
        raise ValidationError({"events": _("Choose at least one event.")})
    if scope not in Subscription.Scope.values:
        raise ValidationError({"scope": _("Choose what deliveries carry.")})
    secret = new_secret()
    subscription = Subscription.objects.create(
        clinic=clinic, url=url, events=events, scope=scope, secret=secret, created_by=by,
    )
    audit_record(
        action="webhook.create", actor=by, obj=subscription, clinic=clinic, request=request,
        detail={"host": _host(url), "events": events, "scope": scope},
    )
    return subscription, secret


@transaction.atomic
def subscription_disable(*, subscription, by, request=None):
    """Turn a subscription off: nothing more is sent or collected for it. What was
    waiting stays, and goes out if it is turned on again."""
    now = timezone.now()
    changed = Subscription.objects.filter(pk=subscription.pk, is_active=True).update(
        is_active=False, disabled_at=now, disabled_reason=Subscription.DisabledReason.BY_ADMIN, claim_id="",
        lease_until=None,
    )
    if changed:
        audit_record(action="webhook.disable", actor=by, obj=subscription, clinic=subscription.clinic, request=request)
    return bool(changed)


@transaction.atomic
def subscription_enable(*, subscription, by, request=None):
    """Turn a subscription on again: its waiting deliveries go out now, in order, and
    its failure count starts again from zero."""
    now = timezone.now()
    changed = Subscription.objects.filter(pk=subscription.pk, is_active=False).update(
        is_active=True, disabled_at=None, disabled_reason="", consecutive_failures=0, claim_id="", lease_until=None,
    )
    if changed:
        Delivery.objects.filter(subscription=subscription, status=Delivery.Status.PENDING).update(next_attempt_at=now)
        audit_record(action="webhook.enable", actor=by, obj=subscription, clinic=subscription.clinic, request=request)
        transaction.on_commit(dispatch_soon)
    return bool(changed)


@transaction.atomic
def subscription_delete(*, subscription, by, request=None):
    """Delete a subscription with its delivery log; the audit row keeps what it was."""
    deliveries = subscription.deliveries.count()
    audit_record(
        action="webhook.delete", actor=by, clinic=subscription.clinic, request=request,
        object_type="subscription", object_id=subscription.pk,
        detail={"host": _host(subscription.url), "deliveries": deliveries},
    )
    subscription.delete()


@transaction.atomic
def subscription_send_test(*, subscription, by, request=None):
    """Queue a "ping" event for the subscription, behind whatever is already waiting
    for it. Returns the delivery."""
    if not subscription.is_active:
        raise ValidationError(_("Turn this webhook on before sending it a test event."))
    now = timezone.now()
    key = f"ping:{uuid.uuid4()}"
    delivery = Delivery.objects.create(
        subscription=subscription, event=Event.PING, idempotency_key=key, created_at=now, next_attempt_at=now,
        payload=_envelope(key, Event.PING, subscription.clinic_id, {"subscription_id": subscription.pk}, now),
    )
    audit_record(action="webhook.test", actor=by, obj=subscription, clinic=subscription.clinic, request=request)
    transaction.on_commit(dispatch_soon)
    return delivery
