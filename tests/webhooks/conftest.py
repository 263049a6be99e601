"""Fixtures of the webhook tests: a receiver on loopback (tests/webhooks/receiver.py), a
subscription of carol's clinic pointing at it, and the real services the worker tests
need (tests/services.py)."""

import pytest

from tests.services import celery_worker, smtp_server, wait_for  # noqa: F401 - fixtures used here
from webhooks.models import Event, Subscription
from webhooks.services import subscription_create

from .receiver import Receiver

ALL_EVENTS = [Event.CHECKIN_RECEIVED, Event.FLAG_RAISED, Event.FLAG_RESOLVED]


@pytest.fixture
def receiver():
    """Start receivers: receiver(answers=[500, 200]) answers 500 once, then 200."""
    started = []

    def start(**kwargs):
        r = Receiver(**kwargs).start()
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def subscribe(carol):
    """Subscribe a receiver to events as carol (the clinic admin) would; the receiver
    learns the secret the page showed her once."""

    def make(rx, *, events=ALL_EVENTS, scope=Subscription.Scope.SCORES):
        subscription, secret = subscription_create(
            clinic=carol.clinic, url=rx.url, events=events, scope=scope, by=carol,
        )
        rx.secret = secret
        return subscription

    return make
