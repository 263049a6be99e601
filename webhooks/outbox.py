"""The webhook outbox: how a Delivery row becomes one signed POST, in order.

It follows the survey outbox (alliance/checkins/outbox.py): the database is the source
of truth, the broker carries ids only, and each step first wins a conditional UPDATE.
The unit claimed is a *subscription*, not a single delivery, because deliveries to one
URL keep their order:

1. `deliveries_dispatch_due` (beat, every minute, and asked for on commit whenever an
   event is written) claims the active subscriptions whose oldest waiting delivery is
   due and that no live claim holds: a fresh `claim_id` and a `lease_until`. On
   PostgreSQL the candidates are locked with SELECT … FOR UPDATE SKIP LOCKED, so two
   sweeps split the work; on SQLite the conditional UPDATE's row count says who won.
   After commit each claimed subscription is queued as `deliver_webhooks(id)` with the
   claim id as the Celery task id.
2. `subscription_deliver` (the task) sends only under *its* claim: a duplicate or stale
   message finds another claim id and does nothing. It takes the subscription's oldest
   waiting delivery, renews the lease and counts the attempt (committed before the
   POST), POSTs it, and on a 2xx marks it delivered and moves on to the next, up to
   WEBHOOK_BATCH deliveries or a time budget inside the task's soft time limit, then
   hands the rest back to a sweep.

Ordering, the guarantee: deliveries to one subscription are delivered in the order
they were written (by id), each only after the one before it got a 2xx. A failing
delivery holds back every later one for that subscription until it succeeds, or until
the subscription is turned off; nothing is skipped, so a receiver never sees "flag
resolved" before the "flag raised" it resolves. Different subscriptions are independent.

Retries: anything but a 2xx (a 3xx too: redirects are not followed, see
webhooks/destinations.py), a timeout or a refused connection is a failed attempt. The
delivery is tried again after WEBHOOK_RETRY_BASE_SECONDS * 2**(attempts - 1), capped at
WEBHOOK_RETRY_MAX_SECONDS, by the same task retrying under the same claim (the lease
covers the wait). After WEBHOOK_DISABLE_AFTER_FAILURES failed attempts in a row the
subscription is turned off, its clinic's admins get an email (no clinical detail: the
clinic, the URL's host and a link to the webhooks page) and the page shows a banner.
Its waiting deliveries stay, and it keeps collecting events, so turning it on again
delivers everything it missed, in order.

The crash window, stated plainly: if the process dies, or the database cannot be
reached, after the receiver answered 2xx and before the "delivered" UPDATE commits (one
UPDATE), the delivery is sent again once the lease runs out. It carries the same
Idempotency-Key, so a receiver that remembers the keys it has processed drops the
duplicate. Outside that window nothing is sent twice and nothing is lost.
"""

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import requests
from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record

from .destinations import destination_check
from .models import Delivery, Event, Subscription
from .signing import EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature

log = logging.getLogger(__name__)
Status = Delivery.Status

# The send task (webhooks/tasks.py) by name: tasks sit above the services they call.
DELIVER_TASK = "webhooks.tasks.deliver_webhooks"
DISPATCH_TASK = "webhooks.tasks.dispatch_webhooks"
USER_AGENT = "Rapport-Webhooks/1"


@dataclass(frozen=True)
class Outcome:
    result: str  # idle | retry | disabled | more | skipped
    delivered: int = 0
    retry_in: int | None = None


SKIPPED = Outcome("skipped")


def retry_delay(attempts):
    """Seconds to wait after the `attempts`-th failed attempt of a delivery."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), settings.WEBHOOK_RETRY_MAX_SECONDS)


def _enqueue(claimed):
    for subscription_id, claim_id in claimed:
        try:
            current_app.send_task(DELIVER_TASK, args=[subscription_id], task_id=claim_id)
        except Exception:  # noqa: BLE001 - the claim lapses and the next sweep queues it again
            log.exception("webhooks.enqueue_failed subscription=%s", subscription_id)


def dispatch_soon():
    """Ask for a sweep now rather than at the next beat tick. A broker hiccup loses
    nothing: the rows are in the database and beat's sweep finds them."""
    try:
        current_app.send_task(DISPATCH_TASK)
    except Exception:  # noqa: BLE001 - beat's sweep finds the rows anyway
        log.exception("webhooks.dispatch_enqueue_failed")


# --- 1. The sweep -----------------------------------------------------------------------


def _unclaimed(now):
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def deliveries_dispatch_due(*, now=None, limit=None):
    """Claim the subscriptions with a delivery due and queue one send task for each once
    the claims are committed. Returns the claimed subscription ids."""
    now = now or timezone.now()
    limit = limit or settings.WEBHOOK_DISPATCH_BATCH
    head_due = (
        Delivery.objects.filter(subscription=OuterRef("pk"), status=Status.PENDING)
        .order_by("id").values("next_attempt_at")[:1]
    )
    claimed = []
    with transaction.atomic():
        candidates = (
            Subscription.objects.filter(_unclaimed(now), is_active=True)
            .annotate(head_due=Subquery(head_due)).filter(head_due__lte=now).order_by("id")
        )
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        for subscription_id in list(candidates.values_list("id", flat=True)[:limit]):
            claim_id = str(uuid.uuid4())
            won = Subscription.objects.filter(_unclaimed(now), id=subscription_id, is_active=True).update(
                claim_id=claim_id, lease_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
            )
            if won:
                claimed.append((subscription_id, claim_id))
        transaction.on_commit(lambda: _enqueue(claimed))
    if claimed:
        log.info("webhooks.claimed count=%s", len(claimed))
    return [subscription_id for subscription_id, _ in claimed]


# --- 2. Sending a subscription's deliveries -----------------------------------------------


def delivery_body(delivery, subscription):
    """The JSON body of a delivery, as bytes. A check-in's comment is added here, under
    the comments scope only, read from the check-in itself (never stored in the row)."""
    payload = delivery.payload
    if delivery.event == Event.CHECKIN_RECEIVED and subscription.includes_comments:
        from alliance.models import CheckIn

        checkin_id = payload["data"]["checkin"]["id"]
        comment = CheckIn.objects.filter(pk=checkin_id).values_list("comment", flat=True).first()
        payload = {**payload, "data": {"checkin": {**payload["data"]["checkin"], "comment": comment or ""}}}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _post(http, subscription, delivery):
    """POST one delivery. Returns (status code or None, short error or "")."""
    try:
        destination_check(subscription.url)
    except ValidationError as exc:
        return None, f"refused: {exc.code}"
    body = delivery_body(delivery, subscription)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        IDEMPOTENCY_HEADER: delivery.idempotency_key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(subscription.secret, timestamp, body),
    }
    try:
        # stream=True and close(): the receiver's answer is never read, however large.
        response = http.post(
            subscription.url, data=body, headers=headers, allow_redirects=False, stream=True,
            timeout=(settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT),
        )
        response.close()
    except requests.RequestException as exc:
        return None, type(exc).__name__[:200]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def subscription_deliver(*, subscription_id, claim_id):
    """Send the claimed subscription's waiting deliveries, oldest first, stopping at
    the first failure. Returns an Outcome; `retry_in` asks the Celery task to run again
    later under the same claim."""
    mine = Subscription.objects.filter(pk=subscription_id, claim_id=claim_id, is_active=True)
    subscription = mine.select_related("clinic").first()
    if subscription is None:
        return SKIPPED
    deadline = time.monotonic() + max(
        1, settings.CELERY_TASK_SOFT_TIME_LIMIT - settings.WEBHOOK_CONNECT_TIMEOUT - settings.WEBHOOK_READ_TIMEOUT
    )
    delivered = 0
    with requests.Session() as http:
        while True:
            now = timezone.now()
            head = Delivery.objects.filter(subscription_id=subscription_id, status=Status.PENDING).order_by("id").first()
            if head is None:
                mine.update(claim_id="", lease_until=None)
                return Outcome("idle", delivered)
            if head.next_attempt_at > now:
                wait = max(1, int((head.next_attempt_at - now).total_seconds()) + 1)
                mine.update(lease_until=now + timedelta(seconds=wait + settings.WEBHOOK_LEASE_SECONDS))
                return Outcome("retry", delivered, retry_in=wait)
            if delivered >= settings.WEBHOOK_BATCH or time.monotonic() > deadline:
                # Hand the rest to a fresh task, so one busy receiver cannot hold a
                # worker past its time limit.
                mine.update(claim_id="", lease_until=None)
                transaction.on_commit(dispatch_soon)
                return Outcome("more", delivered)
            with transaction.atomic():
                # The attempt is counted, and the lease renewed, before the POST.
                if not mine.update(lease_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)):
                    return Outcome("skipped", delivered)
                Delivery.objects.filter(pk=head.pk, status=Status.PENDING).update(attempts=F("attempts") + 1)
            attempts = head.attempts + 1
            code, error = _post(http, subscription, head)
            if not error:
                # See the module docstring for what a crash right here costs.
                with transaction.atomic():
                    Delivery.objects.filter(pk=head.pk, status=Status.PENDING).update(
                        status=Status.DELIVERED, sent_at=timezone.now(), last_status_code=code, last_error="",
                    )
                    mine.update(consecutive_failures=0)
                    # Client data left for another system: the trail says what, to
                    # which subscription (and so set up by whom), never the scores.
                    audit_record(
                        action="webhook.delivered", obj=subscription, clinic=subscription.clinic, record_ip=False,
                        detail={"event": head.event, "key": head.idempotency_key, "client_id": _client_id(head)},
                    )
                delivered += 1
                continue
            log.warning(
                "webhooks.delivery_failed subscription=%s delivery=%s attempt=%s error=%s",
                subscription_id, head.pk, attempts, error,
            )
            return _failed(subscription, mine, head, attempts=attempts, code=code, error=error, delivered=delivered)


def _client_id(delivery):
    data = delivery.payload.get("data", {})
    item = data.get("checkin") or data.get("flag") or {}
    return item.get("client", {}).get("id")


def _failed(subscription, mine, delivery, *, attempts, code, error, delivered):
    now = timezone.now()
    delay = retry_delay(attempts)
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            last_status_code=code, last_error=error, next_attempt_at=now + timedelta(seconds=delay),
        )
        mine.update(consecutive_failures=F("consecutive_failures") + 1)
        failures = Subscription.objects.values_list("consecutive_failures", flat=True).get(pk=subscription.pk)
        if failures < settings.WEBHOOK_DISABLE_AFTER_FAILURES:
            mine.update(lease_until=now + timedelta(seconds=delay + settings.WEBHOOK_LEASE_SECONDS))
            return Outcome("retry", delivered, retry_in=delay)
        if mine.update(
            is_active=False, disabled_at=now, disabled_reason=Subscription.DisabledReason.FAILURES,
            claim_id="", lease_until=None,
        ):
            audit_record(
                action="webhook.disabled_after_failures", obj=subscription, clinic=subscription.clinic,
                detail={"failures": failures, "last_status_code": code},
            )
            transaction.on_commit(lambda: _tell_admins(subscription.pk, failures))
    log.warning("webhooks.subscription_disabled subscription=%s failures=%s", subscription.pk, failures)
    return Outcome("disabled", delivered)


def _tell_admins(subscription_id, failures):
    """Email the clinic's admins that a webhook was turned off: the clinic, the URL's
    host and the page's link, nothing clinical."""
    from accounts.models import User

    subscription = Subscription.objects.select_related("clinic").get(pk=subscription_id)
    admins = list(
        User.objects.filter(clinic_id=subscription.clinic_id, role=User.Role.CLINIC_ADMIN, is_active=True)
        .values_list("email", flat=True)
    )
    if not admins:
        return
    context = {
        "clinic_name": subscription.clinic.name, "host": urlsplit(subscription.url).hostname or "",
        "failures": failures, "link": settings.SITE_URL + reverse("webhook_list"),
    }
    subject = " ".join(render_to_string("emails/webhook_disabled_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, render_to_string("emails/webhook_disabled_body.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=admins,
    )
    message.attach_alternative(render_to_string("emails/webhook_disabled_body.html", context), "text/html")
    try:
        message.send()
    except Exception:  # noqa: BLE001 - the banner on the webhooks page says it anyway
        log.exception("webhooks.disabled_email_failed subscription=%s", subscription_id)
