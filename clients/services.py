"""Writes of client records. Each runs in one transaction with its audit row, which
holds field names only, never values."""

from django.db import transaction
from django.utils import timezone

from alliance.flags.rules import flags_recompute_for_client
from alliance.checkins.invitations import invitation_schedule_for_session
from alliance.models import SurveyInvitation
from audit.services import audit_record
from clinic.dashboards.figures import caseloads_refresh, client_days, figures_stale
from sessions.models import Session

from .models import Client

FIELDS = (
    "display_name", "email", "survey_consent", "phone", "sms_consent", "language", "modality", "relationship_approach",
)
# Changes after which a waiting check-in may have no channel left to go by.
CHANNEL_FIELDS = {"email", "survey_consent", "phone", "sms_consent"}


def _reschedule_pending_invitations(client):
    """After a change that may make the client ineligible for email (discharged,
    consent withdrawn, address removed), let the invitation rules cancel what has not
    been sent yet."""
    pending = Session.objects.filter(client=client, invitation__status=SurveyInvitation.Status.SCHEDULED)
    for session in pending:
        session.client = client
        invitation_schedule_for_session(session=session)


@transaction.atomic
def client_create(*, therapist, data, external_id="", by=None, request=None):
    """Add a client to the therapist's caseload. `by` is who did it when it was not the
    therapist (the clinic admin whose API key the clinic's EHR used); `external_id` is
    the clinic's own id for the client (the API's)."""
    client = Client.objects.create(
        clinic=therapist.clinic, therapist=therapist, external_id=external_id, **{f: data[f] for f in FIELDS}
    )
    caseloads_refresh(clinic_id=client.clinic_id, therapist_ids=[client.therapist_id])
    fields = [*FIELDS, "external_id"] if external_id else list(FIELDS)
    audit_record(action="client.create", actor=by or therapist, obj=client, request=request, detail={"fields": fields})
    return client


@transaction.atomic
def client_update(*, client, by, data, request=None):
    changed = [f for f in FIELDS if getattr(client, f) != data[f]]
    if not changed:
        return client
    for f in changed:
        setattr(client, f, data[f])
    update = [*changed, "updated_at"]
    if "phone" in changed and client.sms_opted_out_at is not None:
        # A STOP was sent from the old number; the new one has said nothing yet (and
        # texts go to it only with the consent the therapist just confirmed).
        client.sms_opted_out_at = None
        update.append("sms_opted_out_at")
    client.save(update_fields=update)
    if {"modality", "relationship_approach"} & set(changed):
        # The dashboard breaks every figure of the client down by these.
        figures_stale(clinic=client.clinic, instants=client_days(client))
        caseloads_refresh(clinic_id=client.clinic_id, therapist_ids=[client.therapist_id])
    if CHANNEL_FIELDS & set(changed):
        _reschedule_pending_invitations(client)
    audit_record(action="client.update", actor=by, obj=client, request=request, detail={"fields": changed})
    return client


@transaction.atomic
def client_discharge(*, client, by, request=None):
    if client.status == Client.Status.DISCHARGED:
        return client
    client.status, client.discharged_at = Client.Status.DISCHARGED, timezone.now()
    client.save(update_fields=["status", "discharged_at", "updated_at"])
    _reschedule_pending_invitations(client)
    # A discharged client's flags clear (alliance.flags.rules), so caseload counts and the
    # flags-resolved chart date them at the discharge, not at some later recompute.
    flags_recompute_for_client(client=client)
    caseloads_refresh(clinic_id=client.clinic_id, therapist_ids=[client.therapist_id])
    audit_record(action="client.discharge", actor=by, obj=client, request=request)
    return client


@transaction.atomic
def client_reactivate(*, client, by, request=None):
    if client.status == Client.Status.ACTIVE:
        return client
    client.status, client.discharged_at = Client.Status.ACTIVE, None
    client.save(update_fields=["status", "discharged_at", "updated_at"])
    flags_recompute_for_client(client=client)
    caseloads_refresh(clinic_id=client.clinic_id, therapist_ids=[client.therapist_id])
    audit_record(action="client.reactivate", actor=by, obj=client, request=request)
    return client
