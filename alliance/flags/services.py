"""Writes on flags made by people (the rules themselves live in alliance.flags.rules)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from alliance.models import Flag

RESPONSE_TEXT_MAX = 500


@transaction.atomic
def flag_acknowledge(*, flag, by, response, text="", request=None):
    """Record what the client's therapist did about an open flag.

    The flag stays open until its condition clears (acknowledging is not resolving);
    the "needs attention" list shows it as acknowledged meanwhile. Only the client's
    own therapist may acknowledge: a clinic admin sees flags but does not act on them.
    """
    text = (text or "").strip()
    if response not in Flag.Response.values:
        raise ValidationError({"response": "Choose what you did about this flag."})
    if response == Flag.Response.OTHER and not text:
        raise ValidationError({"text": "Say briefly what you did."})
    if len(text) > RESPONSE_TEXT_MAX:
        raise ValidationError({"text": f"Keep it under {RESPONSE_TEXT_MAX} characters."})
    if flag.client.therapist_id != by.id or not by.is_therapist:
        raise ValidationError("Only the client's therapist can acknowledge this flag.")
    now = timezone.now()
    # A conditional UPDATE, so a double submit or a concurrent recompute that resolved
    # the flag cannot overwrite an earlier response.
    updated = Flag.objects.filter(pk=flag.pk, acknowledged_at__isnull=True, resolved_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=by, response=response, response_text=text
    )
    if not updated:
        raise ValidationError("This flag was already acknowledged or has cleared meanwhile.")
    flag.refresh_from_db()
    audit_record(
        action="flag.acknowledge", actor=by, obj=flag, clinic=by.clinic, request=request,
        # The response choice, never the free text: the audit trail holds no clinical text.
        detail={"kind": flag.kind, "client_id": flag.client_id, "response": response},
    )
    return flag
