"""What an SMS provider tells us after a text left: delivery statuses, and the client's
replies (STOP and START). Both arrive as signed webhooks (alliance/checkins/views.py);
by the time they reach these functions the signature has been verified."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from phonenumber_field.phonenumber import PhoneNumber

from alliance.models import SurveyInvitation
from audit.services import audit_record
from clients.models import Client

from .services import invitations_cancel_if_unreachable

log = logging.getLogger(__name__)
Status = SurveyInvitation.Status

# The carrier-standard opt-out and opt-in keywords (CTIA; what Twilio's own Advanced
# Opt-Out recognises), in any case, as the whole message.
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "PARAR", "BAJA"}
START_WORDS = {"START", "UNSTOP", "YES", "OPTIN", "ALTA"}


@transaction.atomic
def sms_status_record(*, message_id, status, error_code, order):
    """Record a delivery status of a check-in text. Statuses only move forward (`order`
    is the provider's list, first to last): a late "sent" after "delivered" changes
    nothing. A text the network could not deliver fails the check-in if no other
    channel reached the client, so the client page shows it and it can be resent."""
    if not message_id or status not in order:
        return False
    invitation = SurveyInvitation.objects.select_for_update().filter(sms_message_id=message_id).first()
    if invitation is None:
        return False
    if invitation.sms_status in order and order.index(status) <= order.index(invitation.sms_status):
        return False
    fields = {"sms_status": status}
    failed = status in {"undelivered", "failed"}
    if failed:
        fields["sms_error"] = f"SMS {status}" + (f" ({error_code})" if error_code else "")
        if invitation.status == Status.SENT and invitation.email_sent_at is None and invitation.answered_at is None:
            fields.update(status=Status.FAILED, last_error=fields["sms_error"])
    SurveyInvitation.objects.filter(pk=invitation.pk).update(**fields)
    if fields.get("status") == Status.FAILED:
        audit_record(
            action="invitation.failed", obj=invitation, clinic=invitation.client.clinic,
            detail={"session_id": invitation.session_id, "channel": "sms"}, record_ip=False,
        )
    return True


def _clients_with(number):
    try:
        parsed = PhoneNumber.from_string(number)
    except Exception:  # noqa: BLE001 - phonenumbers raises its own NumberParseException
        return Client.objects.none()
    if not parsed.is_valid():
        return Client.objects.none()
    return Client.objects.select_related("clinic").filter(phone=parsed.as_e164)


@transaction.atomic
def sms_reply_record(*, from_number, body):
    """A client's reply. STOP stops every check-in text to that number (in every clinic
    that holds it: the reply names no clinic); START undoes it. Anything else is
    ignored: replies are not read by anyone, and the STOP line in each text says so.
    Returns "stop", "start" or None."""
    word = (body or "").strip().upper()
    now = timezone.now()
    if word in STOP_WORDS:
        action = "stop"
    elif word in START_WORDS:
        action = "start"
    else:
        return None
    for client in _clients_with(from_number):
        if action == "stop":
            changed = Client.objects.filter(pk=client.pk, sms_opted_out_at__isnull=True).update(sms_opted_out_at=now)
            client.sms_opted_out_at = client.sms_opted_out_at or now
            invitations_cancel_if_unreachable(client=client)
        else:
            changed = Client.objects.filter(pk=client.pk, sms_opted_out_at__isnull=False).update(sms_opted_out_at=None)
        if changed:
            audit_record(
                action=f"client.sms_{'opted_out' if action == 'stop' else 'opted_in'}", obj=client,
                clinic=client.clinic, detail={}, record_ip=False,
            )
    return action
