"""Deliveries end to end in this process: events written by the real flag and check-in
code, swept and POSTed over HTTP to a receiver on loopback that checks signatures as a
client of ours would."""

import time

import pytest
from django.core import mail
from django.utils import timezone

from alliance.flags.refresh import flags_refresh
from alliance.flags.rules import flags_recompute_for_client
from alliance.models import Flag
from webhooks.models import Delivery, Subscription

from .helpers import answer, retry, sweep_and_send
from .receiver import verify

pytestmark = pytest.mark.django_db

NOTE = "NOTE-MARKER-the-client-spoke-of-their-brother"


def test_it_delivers_a_signed_checkin_then_the_flag_it_raised(receiver, subscribe, alice_client):
    rx = receiver()
    subscription = subscribe(rx)
    checkin = answer(alice_client, 6)  # 24/40: low alliance

    [(claim, outcome)] = sweep_and_send().values()
    assert outcome.result == "idle" and outcome.delivered == 2
    first, second = rx.got()
    assert [first.event, second.event] == ["checkin.received", "flag.raised"]
    assert first.verified and second.verified
    assert first.key == f"checkin:{checkin.pk}"
    assert first.headers["Content-Type"] == "application/json"
    body = first.json
    assert body["type"] == "checkin.received" and body["id"] == first.key
    data = body["data"]["checkin"]
    assert data["client"]["id"] == alice_client.pk
    assert data["scores"] == {"trust": 6, "empathy": 6, "boundaries": 6, "collaboration": 6}
    assert data["total"] == 24
    assert "comment" not in data
    flag = Flag.objects.get(client=alice_client, kind="low_alliance", resolved_at__isnull=True)
    assert second.json["data"]["flag"]["id"] == flag.pk
    assert second.key == f"flag-raised:{flag.pk}"
    for r in rx.got():
        assert alice_client.display_name.encode() not in r.body and alice_client.email.encode() not in r.body
    assert set(Delivery.objects.filter(subscription=subscription).values_list("status", flat=True)) == {"delivered"}


def test_a_signature_checks_only_with_the_right_secret_and_a_fresh_timestamp(receiver, subscribe, alice_client):
    rx = receiver()
    subscribe(rx)
    answer(alice_client)
    sweep_and_send()
    [got] = rx.got()
    assert verify(rx.secret, got.headers, got.body)
    assert not verify("whsec_someone-elses-secret", got.headers, got.body)
    assert not verify(rx.secret, got.headers, got.body + b" ")
    assert not verify(rx.secret, got.headers, got.body, now=time.time() + 600)


def test_the_same_checkin_written_twice_is_delivered_once(receiver, subscribe, alice_client):
    """The after-answer task and the stale-flags sweep can both reach the same answer."""
    rx = receiver()
    subscription = subscribe(rx, events=["checkin.received"])
    checkin = answer(alice_client)
    checkin.flags_pending = True
    checkin.save(update_fields=["flags_pending"])
    flags_refresh(alice_client.pk)
    assert Delivery.objects.filter(subscription=subscription).count() == 1
    sweep_and_send()
    assert [r.key for r in rx.got()] == [f"checkin:{checkin.pk}"]


def test_a_failed_delivery_is_retried_with_backoff_under_the_same_key(receiver, subscribe, alice_client):
    rx = receiver(answers=[500, 503])
    subscribe(rx, events=["checkin.received"])
    answer(alice_client)
    [(subscription_id, (claim, outcome))] = sweep_and_send().items()
    assert outcome.result == "retry" and outcome.retry_in == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at > timezone.now()
    # The claim holds through the wait: a sweep now finds nothing to take.
    assert sweep_and_send() == {}

    outcome = retry(subscription_id, claim, outcome)
    assert outcome.result == "retry" and outcome.retry_in == 2  # doubled
    outcome = retry(subscription_id, claim, outcome)
    assert outcome.result == "idle" and outcome.delivered == 1

    got = rx.got()
    assert [r.answered for r in got] == [500, 503, 200]
    assert len({r.key for r in got}) == 1 and len({r.body for r in got}) == 1
    assert all(r.verified for r in got)
    # Each attempt is signed afresh, over its own timestamp.
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == ("delivered", 3, 200, "")
    assert Subscription.objects.get(pk=subscription_id).consecutive_failures == 0


def test_a_failing_delivery_holds_back_the_later_ones(receiver, subscribe, alice_client):
    rx = receiver(answers=[500])
    subscribe(rx)
    first = answer(alice_client, 9, days_ago=3)
    second = answer(alice_client, 6, days_ago=2)  # raises low alliance
    third = answer(alice_client, 10, days_ago=1)  # resolves it
    [(subscription_id, (claim, outcome))] = sweep_and_send().items()
    assert outcome.result == "retry"
    assert len(rx.got()) == 1  # nothing after the failure was sent
    assert retry(subscription_id, claim, outcome).result == "idle"

    low = Flag.objects.get(client=alice_client, kind="low_alliance")
    expected = list(Delivery.objects.order_by("id").values_list("idempotency_key", flat=True))
    assert [r.key for r in rx.delivered()] == expected
    # The order a receiver needs: the check-in, then the flags it raised, and a flag's
    # resolution only after it was raised.
    assert expected[:2] == [f"checkin:{first.pk}", f"checkin:{second.pk}"]
    assert expected.index(f"flag-raised:{low.pk}") < expected.index(f"checkin:{third.pk}")
    assert expected.index(f"checkin:{third.pk}") < expected.index(f"flag-resolved:{low.pk}")
    assert rx.got()[0].key == rx.got()[1].key == expected[0]


def test_repeated_failure_turns_the_webhook_off_and_tells_the_admins(
    receiver, subscribe, alice_client, carol, login, client, django_capture_on_commit_callbacks,
):
    rx = receiver(then=500)
    subscription = subscribe(rx, events=["checkin.received"])
    answer(alice_client, comment="It was a hard week")
    with django_capture_on_commit_callbacks(execute=True):
        [(subscription_id, (claim, outcome))] = sweep_and_send().items()
        outcome = retry(subscription_id, claim, outcome)
        outcome = retry(subscription_id, claim, outcome)
    assert outcome.result == "disabled"
    subscription.refresh_from_db()
    assert not subscription.is_active and subscription.disabled_reason == "failures"
    assert len(rx.got()) == 3

    [email] = mail.outbox
    assert email.to == [carol.email]
    assert "127.0.0.1" in email.body and "/clinic/webhooks/" in email.body
    for private in ("It was a hard week", alice_client.display_name, alice_client.email, "checkin"):
        assert private not in email.body and private not in email.subject

    page = login(client, carol).get("/clinic/webhooks/")
    assert b'data-testid="webhook-failed-banner"' in page.content
    assert b"turned off" in page.content

    # Events keep being collected while it is off, and nothing is sent.
    answer(alice_client, days_ago=0)
    assert sweep_and_send() == {}
    assert Delivery.objects.filter(subscription=subscription, status="pending").count() == 2

    # Once the receiver is fixed, turning it on delivers the backlog, in order.
    rx.then = 200
    client.post(f"/clinic/webhooks/{subscription.pk}/enable/")
    [(claim, outcome)] = sweep_and_send().values()
    assert outcome.delivered == 2
    keys = list(Delivery.objects.filter(subscription=subscription).order_by("id").values_list("idempotency_key", flat=True))
    assert [r.key for r in rx.delivered()] == keys
    assert b"webhook-failed-banner" not in client.get("/clinic/webhooks/").content


def test_the_comment_travels_only_under_the_comments_scope_and_notes_never(receiver, subscribe, alice_client):
    scores_only, with_comments = receiver(), receiver()
    subscribe(scores_only, events=["checkin.received"])
    subscribe(with_comments, events=["checkin.received"], scope=Subscription.Scope.SCORES_AND_COMMENTS)
    checkin = answer(alice_client, comment="Felt rushed at the end")
    from sessions.models import SessionNote

    note = SessionNote(session=checkin.session, author=alice_client.therapist)
    note.text = NOTE
    note.save()
    sweep_and_send()
    [plain], [full] = scores_only.got(), with_comments.got()
    assert b"Felt rushed" not in plain.body and "comment" not in plain.json["data"]["checkin"]
    assert full.json["data"]["checkin"]["comment"] == "Felt rushed at the end"
    assert full.verified
    for got in (plain, full):
        assert NOTE.encode() not in got.body
    # The comment is not stored in the outbox row either.
    assert all("Felt rushed" not in str(d.payload) for d in Delivery.objects.all())


def test_a_flag_change_rolled_back_sends_nothing(receiver, subscribe, alice_client):
    from django.db import transaction

    rx = receiver()
    subscribe(rx, events=["flag.raised"])
    answer(alice_client, 9)

    class Boom(Exception):
        pass

    from alliance.models import CheckIn

    with pytest.raises(Boom), transaction.atomic():
        CheckIn.objects.filter(client=alice_client).update(trust=1)
        flags_recompute_for_client(client=alice_client)
        assert Delivery.objects.filter(event="flag.raised").exists()
        raise Boom
    assert not Delivery.objects.exists()
    sweep_and_send()
    assert rx.got() == []


def test_another_clinics_events_never_reach_this_clinics_webhook(receiver, subscribe, mallory):
    from tests.factories import ClientFactory

    rx = receiver()
    subscribe(rx)
    answer(ClientFactory(therapist=mallory), 5)
    assert not Delivery.objects.exists()


def test_erasing_a_client_erases_their_deliveries_sent_or_waiting(receiver, subscribe, alice_client, bob_client):
    from clinic.rights.services import client_erase

    rx = receiver(then=500)
    subscription = subscribe(rx)
    answer(alice_client, 6)
    answer(bob_client, 9)
    kept = Delivery.objects.filter(payload__data__checkin__client__id=bob_client.pk).count()
    about_alice = Delivery.objects.count() - kept
    assert kept == 1 and about_alice == 2  # her check-in and the low-alliance flag it raised
    event, _ = client_erase(client=alice_client)
    assert event.detail["webhook_deliveries"] == about_alice
    assert list(Delivery.objects.filter(subscription=subscription).values_list("payload__data__checkin__client__id", flat=True)) == [bob_client.pk]


def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver, subscribe, alice_client):
    """A redirect could lead a delivery inside our network: it is a failed attempt."""
    rx = receiver(answers=[302])
    subscribe(rx, events=["checkin.received"])
    answer(alice_client)
    [(subscription_id, (claim, outcome))] = sweep_and_send().items()
    assert outcome.result == "retry"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_status_code, delivery.last_error) == ("pending", 302, "HTTP 302")
    assert len(rx.got()) == 1


def test_each_delivery_leaves_an_audit_row_naming_the_client_not_the_scores(receiver, subscribe, alice_client):
    from audit.models import AuditEvent

    rx = receiver()
    subscription = subscribe(rx, events=["checkin.received"])
    checkin = answer(alice_client, 6, comment="Rushed")
    sweep_and_send()
    row = AuditEvent.objects.get(action="webhook.delivered")
    assert (row.object_type, row.object_id) == ("subscription", str(subscription.pk))
    assert row.detail == {"event": "checkin.received", "key": f"checkin:{checkin.pk}", "client_id": alice_client.pk}
    assert row.clinic == alice_client.clinic
