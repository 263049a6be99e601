"""Data rights: export everything held about one client, erase a client entirely, and
erase discharged clients once the retention period has run out.

Session notes are the therapist's alone: a clinic admin's export leaves them out; a
therapist exporting a client of their own caseload gets their own notes only. The audit
trail keeps a record of each export and erasure with ids and counts, never the data.
"""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import router, transaction
from django.db.models.deletion import Collector
from django.utils import timezone

from alliance.models import CheckIn, Flag, SurveyInvitation
from audit.services import audit_record
from clinic.dashboards.figures import caseloads_refresh, client_days, figures_stale
from sessions.models import Session, SessionNote
from webhooks.services import webhook_deliveries_forget_client

from clients.models import Client

EXPORT_FORMAT = "rapport-client-export/1"


def _dt(value):
    return value.isoformat() if value is not None else None


def client_export(*, client, actor, request=None, include_notes_of=None, include_comments=False):
    """Everything about `client` as a JSON-ready dict. Notes are included only when
    `include_notes_of` is given, and then only the notes that user wrote.

    The client's comments are written for their therapist, so they are left out unless
    `include_comments`: a subject-access request (the client's own right of access to
    what they wrote) or the therapist's own export. The audit row says whether they
    were included."""
    sessions = list(Session.objects.filter(client=client).order_by("scheduled_start", "id"))
    notes = {}
    if include_notes_of is not None:
        notes = {
            n.session_id: n.text
            for n in SessionNote.objects.filter(session__client=client, author=include_notes_of)
        }
    checkins = CheckIn.objects.filter(client=client).order_by("submitted_at", "id")
    invitations = SurveyInvitation.objects.filter(client=client).order_by("due_at", "id")
    flags = Flag.objects.filter(client=client).order_by("raised_at", "id")
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": _dt(timezone.now()),
        "client": {
            "id": client.pk,
            "clinic": client.clinic.name,
            "therapist": {"id": client.therapist_id, "name": client.therapist.full_name},
            "display_name": client.display_name,
            "email": client.email,
            "survey_consent": client.survey_consent,
            "opted_out_at": _dt(client.opted_out_at),
            "phone": str(client.phone) if client.phone else "",
            "sms_consent": client.sms_consent,
            "sms_opted_out_at": _dt(client.sms_opted_out_at),
            "language": client.language,
            "modality": client.modality,
            "relationship_approach": client.relationship_approach,
            "status": client.status,
            "discharged_at": _dt(client.discharged_at),
            "created_at": _dt(client.created_at),
            "updated_at": _dt(client.updated_at),
        },
        "sessions": [
            {
                "id": s.pk,
                "therapist_id": s.therapist_id,
                "scheduled_start": _dt(s.scheduled_start),
                "duration_minutes": s.duration_minutes,
                "attendance": s.attendance,
                "format": s.format,
                "created_at": _dt(s.created_at),
                **({"note": notes.get(s.pk)} if include_notes_of is not None else {}),
            }
            for s in sessions
        ],
        "checkins": [
            {
                "id": c.pk,
                "session_id": c.session_id,
                "source": c.source,
                "channel": c.channel,
                "trust": c.trust,
                "empathy": c.empathy,
                "boundaries": c.boundaries,
                "collaboration": c.collaboration,
                "total": c.total,
                **({"comment": c.comment} if include_comments else {}),
                "submitted_at": _dt(c.submitted_at),
            }
            for c in checkins
        ],
        # Status and times only: no token digest, no delivery error text.
        "invitations": [
            {
                "id": i.pk,
                "session_id": i.session_id,
                "status": i.status,
                "due_at": _dt(i.due_at),
                "sent_at": _dt(i.sent_at),
                "email_sent_at": _dt(i.email_sent_at),
                "sms_sent_at": _dt(i.sms_sent_at),
                "sms_status": i.sms_status,
                "answered_channel": i.answered_channel,
                "reminded_at": _dt(i.reminded_at),
                "opened_at": _dt(i.opened_at),
                "answered_at": _dt(i.answered_at),
                "expires_at": _dt(i.expires_at),
                "attempts": i.attempts,
            }
            for i in invitations
        ],
        "flags": [
            {
                "id": f.pk,
                "kind": f.kind,
                "severity": f.severity,
                "session_id": f.session_id,
                "detail": f.detail,
                "raised_at": _dt(f.raised_at),
                "acknowledged_at": _dt(f.acknowledged_at),
                "acknowledged_by_id": f.acknowledged_by_id,
                "response": f.response,
                "response_text": f.response_text,
                "resolved_at": _dt(f.resolved_at),
            }
            for f in flags
        ],
    }
    counts = {k: len(data[k]) for k in ("sessions", "checkins", "invitations", "flags")}
    counts["notes"] = len(notes)
    counts["comments_included"] = bool(include_comments)
    audit_record(action="client.export", actor=actor, obj=client, request=request, detail=counts)
    return data


def erasure_counts(client):
    """What erasing the client would delete, per model ("therapy_sessions.session": 12)."""
    collector = Collector(using=router.db_for_write(Client, instance=client))
    collector.collect([client])
    counts = Counter()
    for model, objs in collector.data.items():
        counts[model._meta.label_lower] += len(objs)
    for qs in collector.fast_deletes:
        counts[qs.model._meta.label_lower] += qs.count()
    return dict(sorted(counts.items()))


@transaction.atomic
def client_erase(*, client, actor=None, request=None, reason="request"):
    """Delete the client with every session, note, check-in, invitation and flag. The
    audit row records the ids and counts of what went, not the data."""
    client = Client.objects.select_for_update().get(pk=client.pk)
    counts = erasure_counts(client)
    clinic = client.clinic
    client_id = client.pk
    session_ids = list(Session.objects.filter(client=client).values_list("pk", flat=True))
    # Its figures leave the dashboard with it.
    figures_stale(clinic=clinic, instants=client_days(client))
    client.delete()
    webhook_deliveries = webhook_deliveries_forget_client(clinic_id=clinic.pk, client_id=client_id)
    caseloads_refresh(clinic_id=clinic.pk, therapist_ids=[client.therapist_id])
    event = audit_record(
        action="client.erase",
        actor=actor,
        clinic=clinic,
        request=request,
        object_type="client",
        object_id=client_id,
        detail={"reason": reason, "deleted": counts, "session_ids": session_ids, "webhook_deliveries": webhook_deliveries},
    )
    return event, counts


def expired_clients(*, now=None):
    """Discharged clients whose retention period has run out."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RETENTION_DAYS_AFTER_DISCHARGE)
    return Client.objects.filter(status=Client.Status.DISCHARGED, discharged_at__lt=cutoff).order_by("discharged_at", "id")


def purge_expired_clients(*, dry_run=False, now=None):
    """Erase every client past retention; returns the ids erased (or that would be)."""
    ids = list(expired_clients(now=now).values_list("pk", flat=True))
    if dry_run:
        return ids
    for client in Client.objects.filter(pk__in=ids):
        client_erase(client=client, actor=None, reason="retention")
    return ids
