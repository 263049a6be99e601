"""Reads of the webhooks pages: a clinic's subscriptions with their delivery counts, and
one subscription's delivery log. Everything is looked up inside the admin's own clinic,
so another clinic's ids answer 404."""

from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404

from .models import Delivery, Subscription

DELIVERIES_PER_PAGE = 50


def subscriptions_for_clinic(clinic_id):
    return (
        Subscription.objects.filter(clinic_id=clinic_id)
        .annotate(
            waiting=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
            delivered=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.DELIVERED)),
            last_delivered_at=Max("deliveries__sent_at"),
        )
        .defer("secret")
        .order_by("-created_at", "-id")
    )


def subscription_in_clinic(clinic_id, pk):
    """The subscription, if it is this clinic's (else 404). The secret is not loaded:
    no page shows it after creation."""
    return get_object_or_404(Subscription.objects.filter(clinic_id=clinic_id).defer("secret"), pk=pk)


def delivery_log(subscription):
    """Newest first; the payload stays in the database (the page shows ids and status)."""
    return (
        Delivery.objects.filter(subscription=subscription)
        .only("id", "event", "idempotency_key", "status", "attempts", "next_attempt_at", "last_status_code",
              "last_error", "created_at", "sent_at")
        .order_by("-id")
    )
