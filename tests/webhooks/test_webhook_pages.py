"""The clinic admin's webhooks pages: subscribe a URL (the secret shown once), turn it
off and on, delete it, send a test event, read the delivery log; and the URLs refused."""

import pytest
from django.test import Client as BrowserClient

from audit.models import AuditEvent
from tests.factories import UserFactory
from webhooks.models import Delivery, Event, Subscription

from .helpers import sweep_and_send

pytestmark = pytest.mark.django_db

FORM = {"url": "https://ehr.example.org/hooks/rapport", "events": ["checkin.received", "flag.raised"], "scope": "scores"}


@pytest.fixture
def admin(carol, login, client):
    return login(client, carol)


def test_it_subscribes_a_url_and_shows_the_secret_once(admin, carol):
    response = admin.post("/clinic/webhooks/new/", FORM)
    assert response.status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.clinic == carol.clinic and subscription.events == ["checkin.received", "flag.raised"]
    assert subscription.secret.startswith("whsec_")
    assert subscription.secret.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    # Stored encrypted, and never shown again.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_subscription WHERE id = %s", [subscription.pk])
        assert subscription.secret not in cursor.fetchone()[0]
    for page in ("/clinic/webhooks/", f"/clinic/webhooks/{subscription.pk}/deliveries/"):
        assert subscription.secret.encode() not in admin.get(page).content
    event = AuditEvent.objects.get(action="webhook.create")
    assert event.actor == carol and subscription.secret not in str(event.detail)


@pytest.mark.parametrize("change, message", [
    ({"url": "ftp://ehr.example.org/x"}, b"https://"),
    ({"url": "not a url at all"}, b"Enter a valid URL"),
    ({"events": []}, b"Choose at least one event"),
    ({"events": ["flag.raised", "note.written"]}, b"Select a valid choice"),
    ({"scope": "everything"}, b"Select a valid choice"),
])
def test_bad_input_is_refused_with_a_message_and_nothing_saved(admin, change, message):
    response = admin.post("/clinic/webhooks/new/", {**FORM, **change})
    assert response.status_code == 400
    assert message in response.content
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379/", "http://localhost/hook", "http://10.1.2.3/hook", "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://0.0.0.0/",
])
def test_private_and_local_addresses_are_refused_in_production(admin, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = admin.post("/clinic/webhooks/new/", {**FORM, "url": url})
    assert response.status_code == 400
    assert b"private or local network address" in response.content
    assert not Subscription.objects.exists()


def test_an_address_that_turned_private_after_saving_is_not_posted_to(receiver, subscribe, settings, alice_client):
    rx = receiver()
    subscription = subscribe(rx, events=["checkin.received"])
    from .helpers import answer

    answer(alice_client)
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    sweep_and_send()
    assert rx.got() == []
    delivery = Delivery.objects.get(subscription=subscription)
    assert (delivery.status, delivery.last_error) == ("pending", "refused: private")


def test_a_test_event_is_delivered_and_logged(admin, receiver, subscribe):
    rx = receiver()
    subscription = subscribe(rx)
    response = admin.post(f"/clinic/webhooks/{subscription.pk}/test/")
    assert response.status_code == 302 and response["Location"] == f"/clinic/webhooks/{subscription.pk}/deliveries/"
    sweep_and_send()
    [got] = rx.got()
    assert got.event == "ping" and got.verified and got.json["data"] == {"subscription_id": subscription.pk}
    page = admin.get(response["Location"])
    assert b"Test event" in page.content and got.key.encode() in page.content and b"Delivered" in page.content


def test_turning_off_stops_collecting_and_deleting_removes_the_log(admin, receiver, subscribe, alice_client):
    from .helpers import answer

    rx = receiver()
    subscription = subscribe(rx)
    assert admin.post(f"/clinic/webhooks/{subscription.pk}/disable/").status_code == 302
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == "admin"
    answer(alice_client, 5)
    assert not Delivery.objects.exists()
    assert admin.post(f"/clinic/webhooks/{subscription.pk}/test/").status_code == 302
    assert not Delivery.objects.exists()
    admin.post(f"/clinic/webhooks/{subscription.pk}/enable/")
    assert Subscription.objects.get().is_active
    assert admin.post(f"/clinic/webhooks/{subscription.pk}/delete/").status_code == 302
    assert not Subscription.objects.exists()
    assert AuditEvent.objects.filter(action__in=["webhook.disable", "webhook.enable", "webhook.delete"]).count() == 3


def test_another_clinics_webhook_answers_404_and_therapists_403(admin, subscribe, receiver, mallory, alice, login):
    rx = receiver()
    mine = subscribe(rx)
    olga = UserFactory(clinic=mallory.clinic, role="clinic_admin", email="olga@example.com")
    theirs = Subscription.objects.create(clinic=olga.clinic, url="https://b.example.org/", events=["flag.raised"], secret="s")
    for path in ("deliveries/",):
        assert admin.get(f"/clinic/webhooks/{theirs.pk}/{path}").status_code == 404
    for path in ("test/", "disable/", "delete/"):
        assert admin.post(f"/clinic/webhooks/{theirs.pk}/{path}").status_code == 404
    assert Subscription.objects.filter(pk=theirs.pk, is_active=True).exists()
    therapist = login(BrowserClient(), alice)
    assert therapist.get("/clinic/webhooks/").status_code == 403
    assert therapist.post(f"/clinic/webhooks/{mine.pk}/delete/").status_code == 403
    assert Subscription.objects.filter(pk=mine.pk).exists()


def test_the_delivery_log_is_paginated_with_a_fixed_number_of_queries(admin, subscribe, receiver, django_assert_max_num_queries):
    subscription = subscribe(receiver())
    Delivery.objects.bulk_create([
        Delivery(subscription=subscription, event=Event.PING, idempotency_key=f"ping:{i}", payload={}) for i in range(120)
    ])
    url = f"/clinic/webhooks/{subscription.pk}/deliveries/"
    with django_assert_max_num_queries(10):
        first = admin.get(url)
    assert first.status_code == 200 and b"Page 1 of 3" in first.content
    assert b"ping:119" in first.content and b"ping:69" not in first.content
    with django_assert_max_num_queries(10):
        last = admin.get(url + "?page=3")
    assert b">ping:0<" in last.content and b">ping:20<" not in last.content


def test_the_list_costs_the_same_queries_for_one_webhook_or_many(admin, subscribe, receiver):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subscribe(receiver())
    with CaptureQueriesContext(connection) as one:
        assert admin.get("/clinic/webhooks/").status_code == 200
    for _ in range(5):
        subscribe(receiver())
    with CaptureQueriesContext(connection) as six:
        assert admin.get("/clinic/webhooks/").status_code == 200
    assert len(six) == len(one), "\n".join(q["sql"] for q in six.captured_queries)
