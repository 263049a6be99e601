"""Celery tasks of the webhook outbox. Thin on purpose: load by id, call webhooks/outbox.py,
retry when it says so. Arguments are ids only; see the docstring of webhooks/outbox.py for
why a task delivered twice, late or after a crash does no harm."""

from celery import shared_task
from django.conf import settings

from . import outbox

SEND_OPTIONS = dict(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None, ignore_result=True)


@shared_task(name=outbox.DISPATCH_TASK, ignore_result=True)
def dispatch_webhooks():
    claimed = outbox.deliveries_dispatch_due()
    if len(claimed) >= settings.WEBHOOK_DISPATCH_BATCH:
        dispatch_webhooks.delay()
    return len(claimed)


@shared_task(name=outbox.DELIVER_TASK, **SEND_OPTIONS)
def deliver_webhooks(self, subscription_id):
    # The task id is the claim the sweep wrote on the subscription; retries keep it.
    outcome = outbox.subscription_deliver(subscription_id=subscription_id, claim_id=self.request.id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result
