"""Running the webhook outbox in this process, as beat and a worker would."""

import time

from alliance.flags.refresh import flags_refresh
from tests.factories import CheckInFactory, SessionFactory
from webhooks import outbox
from webhooks.models import Subscription


def answer(client, total_each=9, *, comment="", days_ago=1):
    """A client's check-in as the answer's POST leaves it (flags_pending), then the
    after-commit refresh that the task runs."""
    from datetime import timedelta

    from django.utils import timezone

    session = SessionFactory(client=client, scheduled_start=timezone.now() - timedelta(days=days_ago))
    checkin = CheckInFactory(
        session=session, trust=total_each, empathy=total_each, boundaries=total_each, collaboration=total_each,
        comment=comment, flags_pending=True,
    )
    flags_refresh(client.pk)
    return checkin


def sweep_and_send():
    """One sweep, then each claimed subscription's task, once. Returns {id: Outcome}."""
    outcomes = {}
    for subscription_id in outbox.deliveries_dispatch_due():
        claim = Subscription.objects.values_list("claim_id", flat=True).get(pk=subscription_id)
        outcomes[subscription_id] = (claim, outbox.subscription_deliver(subscription_id=subscription_id, claim_id=claim))
    return outcomes


def retry(subscription_id, claim, outcome):
    """What the Celery task does when told to retry: wait, then run under the same claim."""
    time.sleep(outcome.retry_in)
    return outbox.subscription_deliver(subscription_id=subscription_id, claim_id=claim)
