"""The clinic admin's webhooks pages (clinic admins only: therapists get 403; another
clinic's subscription answers 404): the list with the form that subscribes a URL, the
page that shows a new secret once, and each subscription's delivery log."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from accounts.access import clinic_admin_required

from . import selectors, services
from .forms import SubscriptionForm
from .signing import EVENT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER


def _list_page(request, form=None, status=200):
    subscriptions = list(selectors.subscriptions_for_clinic(request.user.clinic_id))
    return render(request, "webhooks/list.html", {
        "subscriptions": subscriptions,
        "failed": [s for s in subscriptions if s.disabled_reason == s.DisabledReason.FAILURES],
        "form": form or SubscriptionForm(),
        "disable_after": settings.WEBHOOK_DISABLE_AFTER_FAILURES,
    }, status=status)


@clinic_admin_required
@require_safe
def webhook_list(request):
    return _list_page(request)


@clinic_admin_required
@require_POST
@never_cache
def webhook_create(request):
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            subscription, secret = services.subscription_create(
                clinic=request.user.clinic, url=form.cleaned_data["url"], events=form.cleaned_data["events"],
                scope=form.cleaned_data["scope"], by=request.user, request=request,
            )
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
            for field, field_errors in errors.items():
                form.add_error(field if field in form.fields else None, field_errors)
        else:
            # Rendered, not redirected: the secret is never kept in the session or a URL.
            return render(request, "webhooks/created.html", {
                "subscription": subscription, "secret": secret,
                "headers": {"event": EVENT_HEADER, "key": IDEMPOTENCY_HEADER, "timestamp": TIMESTAMP_HEADER,
                            "signature": SIGNATURE_HEADER},
            })
    return _list_page(request, form=form, status=400)


@clinic_admin_required
@require_safe
def webhook_deliveries(request, pk):
    subscription = selectors.subscription_in_clinic(request.user.clinic_id, pk)
    page = Paginator(selectors.delivery_log(subscription), selectors.DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "webhooks/deliveries.html", {"subscription": subscription, "page": page})


@clinic_admin_required
@require_POST
def webhook_test(request, pk):
    subscription = selectors.subscription_in_clinic(request.user.clinic_id, pk)
    try:
        services.subscription_send_test(subscription=subscription, by=request.user, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("webhook_list")
    messages.success(request, _("A test event is on its way. Its delivery is listed below."))
    return redirect("webhook_deliveries", pk=subscription.pk)


@clinic_admin_required
@require_POST
def webhook_disable(request, pk):
    subscription = selectors.subscription_in_clinic(request.user.clinic_id, pk)
    if services.subscription_disable(subscription=subscription, by=request.user, request=request):
        messages.success(request, _("The webhook is off. Nothing is sent to it until you turn it on again."))
    return redirect("webhook_list")


@clinic_admin_required
@require_POST
def webhook_enable(request, pk):
    subscription = selectors.subscription_in_clinic(request.user.clinic_id, pk)
    if services.subscription_enable(subscription=subscription, by=request.user, request=request):
        messages.success(request, _("The webhook is on again. Deliveries that were waiting go out now, in order."))
    return redirect("webhook_list")


@clinic_admin_required
@require_POST
def webhook_delete(request, pk):
    subscription = selectors.subscription_in_clinic(request.user.clinic_id, pk)
    services.subscription_delete(subscription=subscription, by=request.user, request=request)
    messages.success(request, _("The webhook and its delivery log were deleted."))
    return redirect("webhook_list")
