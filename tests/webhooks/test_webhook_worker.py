"""Webhooks on real services: a client answers through the real check-in page, a Celery
worker subprocess runs the after-answer refresh that writes the events and the outbox
task that POSTs them, retrying on its own after a 500, to a receiver on loopback."""

import time

import pytest
from django.core import mail
from django.test import Client as BrowserClient

from alliance.models import Flag
from tests.alliance.conftest import log_session, send_inline, token_of
from webhooks.models import Delivery

from .conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LOW = {"trust": "5", "empathy": "6", "boundaries": "7", "collaboration": "4", "comment": "Did not feel heard"}


def test_a_worker_delivers_the_checkin_and_its_flag_in_order_retrying_a_500(
    receiver, subscribe, smtp_server, celery_worker, alice_client,
):
    rx = receiver(answers=[500])
    subscription = subscribe(rx)
    _, invitation = log_session(client=alice_client)
    assert send_inline(invitation).result == "sent"
    token = token_of(mail.outbox[-1])
    worker = celery_worker(smtp_server(), beat=True)  # the answer's flags and event: beat's sweep

    assert BrowserClient().post(f"/s/{token}/", LOW).status_code == 302

    # No sweep from this process: the worker's after-answer task writes the events and
    # asks for a sweep itself; the 500 is retried by the task after its backoff.
    try:
        wait_for(lambda: len(rx.delivered()) >= 2, what="two deliveries accepted")
    except BaseException:
        # What the worker did, for the failure report.
        print(worker.log()[-4000:], list(Delivery.objects.values()), rx.got())
        raise
    got = rx.got()
    assert [r.answered for r in got][:1] == [500]
    assert got[0].key == got[1].key and got[0].event == "checkin.received"
    assert [r.event for r in rx.delivered()][:2] == ["checkin.received", "flag.raised"]
    assert all(r.verified for r in got)
    assert b"Did not feel heard" not in b"".join(r.body for r in got)
    flag = Flag.objects.get(client=alice_client, kind="low_alliance")
    assert f"flag-raised:{flag.pk}" in [r.key for r in rx.delivered()]
    wait_for(
        lambda: not Delivery.objects.filter(subscription=subscription, status="pending").exists(),
        what="every delivery marked delivered",
    )
    first = Delivery.objects.filter(subscription=subscription).order_by("id").first()
    assert (first.attempts, first.last_status_code) == (2, 200)
    # Delivered once each: nothing more arrives.
    time.sleep(1.5)
    assert len(rx.delivered()) == Delivery.objects.filter(subscription=subscription).count()


def test_a_worker_killed_mid_delivery_loses_nothing_and_resends_under_the_same_key(
    receiver, subscribe, smtp_server, celery_worker, carol, settings,
):
    """The crash window of webhooks/outbox.py: the receiver took the POST, the worker died
    before recording it. Once the lease runs out the sweep (here, as beat would run it)
    claims the subscription again and a new worker sends the same delivery, under the
    same Idempotency-Key, then the next one."""
    from webhooks import outbox
    from webhooks.services import subscription_send_test

    rx = receiver(hold_first=4)
    subscription = subscribe(rx)
    first = subscription_send_test(subscription=subscription, by=carol)
    second = subscription_send_test(subscription=subscription, by=carol)
    smtp = smtp_server()
    worker = celery_worker(smtp, name="doomed")
    outbox.deliveries_dispatch_due()
    wait_for(lambda: Delivery.objects.get(pk=first.pk).attempts == 1, what="the first attempt to start")
    worker.kill()
    wait_for(lambda: rx.got(), what="the receiver to answer the dead worker", timeout=10)
    first.refresh_from_db()
    assert first.status == "pending"  # accepted, but never recorded

    celery_worker(smtp, name="w2")
    # Nothing is taken back while the lease holds.
    assert outbox.deliveries_dispatch_due() == []
    wait_for(lambda: outbox.deliveries_dispatch_due(), what="the lease to run out", timeout=settings.WEBHOOK_LEASE_SECONDS + 10)
    wait_for(
        lambda: not Delivery.objects.filter(subscription=subscription, status="pending").exists(),
        what="both deliveries recorded",
    )
    assert [r.key for r in rx.got()] == [first.idempotency_key, first.idempotency_key, second.idempotency_key]
    assert all(r.verified for r in rx.got())
    first.refresh_from_db()
    assert (first.status, first.attempts) == ("delivered", 2)
