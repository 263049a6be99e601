"""Writes of therapy sessions: the session, its private note, the therapist's own
check-in, the survey invitation and the flags, all in one transaction with its audit row.

A rolled-back session leaves nothing behind: no invitation, no flag, no audit row.
"""

from django.db import transaction

from alliance.flags.rules import flags_recompute_for_client
from alliance.checkins.invitations import invitation_schedule_for_session
from alliance.models import SCORE_FIELDS, CheckIn, SurveyInvitation
from audit.services import audit_record
from clinic.dashboards.figures import figures_stale

from .models import Session, SessionChange, SessionNote

SESSION_FIELDS = ("scheduled_start", "duration_minutes", "attendance", "format")


def _save_rating(*, session, rating):
    """Keep the therapist's check-in in step with the session: the four scores when it
    was attended, none when it was not (there was no session to rate). Returns the
    names of the scores that changed."""
    existing = CheckIn.objects.filter(session=session, source=CheckIn.Source.THERAPIST).first()
    if not session.was_attended:
        if existing is not None:
            existing.delete()
            return list(SCORE_FIELDS)
        return []
    if rating is None:
        return []
    changed = [f for f in SCORE_FIELDS if existing is None or getattr(existing, f) != rating[f]]
    if changed:
        CheckIn.objects.update_or_create(
            session=session,
            source=CheckIn.Source.THERAPIST,
            defaults={"client": session.client, **{f: rating[f] for f in SCORE_FIELDS}},
        )
    return changed


def _save_note(*, session, author, text):
    """Store the note encrypted. Only its author may write it; an empty text removes it.
    Returns True when the note changed (the text itself is never returned or logged)."""
    note = SessionNote.objects.filter(session=session).first()
    if note is not None and note.author_id != author.pk:
        # Someone else's note (the client was reassigned): never read, never overwritten.
        return False
    if not text:
        if note is None:
            return False
        note.delete()
        return True
    if note is not None and note.text == text:
        return False
    note = note or SessionNote(session=session, author=author)
    note.text = text
    note.save()
    return True


def _after_change(*, session, actor, action, fields, request, before=()):
    """What every session write ends with, inside its transaction. `before`: the
    instants the session counted on before the change (its start, its invitation's
    due time), whose dashboard days change too."""
    invitation_schedule_for_session(session=session)
    due = SurveyInvitation.objects.filter(session=session).values_list("due_at", flat=True).first()
    figures_stale(clinic=session.client.clinic, instants=[session.scheduled_start, due, *before])
    flags_recompute_for_client(client=session.client)
    audit_record(
        action=action, actor=actor, obj=session, clinic=session.client.clinic, request=request,
        detail={"fields": fields},
    )


@transaction.atomic
def session_log(
    *, therapist, client, scheduled_start, duration_minutes, attendance, format, note="", rating=None,
    form_token=None, by=None, external_id="", request=None,
):
    """Log a session the therapist held with their client. `rating` is a dict of the
    four 0–10 scores (ignored unless the session was attended). `by` is who logged it
    when not the therapist (the clinic admin whose API key the clinic's EHR used): the
    browser form and the REST API both come here, so a session schedules its check-in
    the same way whichever way it arrived."""
    session = Session.objects.create(
        client=client, therapist=therapist, scheduled_start=scheduled_start,
        duration_minutes=duration_minutes, attendance=attendance, format=format, form_token=form_token,
        external_id=external_id,
    )
    fields = list(SESSION_FIELDS)
    if _save_note(session=session, author=therapist, text=note):
        fields.append("note")
    fields += _save_rating(session=session, rating=rating)
    _after_change(session=session, actor=by or therapist, action="session.create", fields=fields, request=request)
    return session


@transaction.atomic
def session_update(
    *, session, by, scheduled_start, duration_minutes, attendance, format, note=None, rating=None, request=None,
):
    """Change a logged session. `note=None` leaves the note as it is (the editor is not
    its author and never saw it). Records which fields changed, never their values."""
    # Lock the row so two edits of one session are applied one after the other.
    session = Session.objects.select_for_update().select_related("client", "client__clinic").get(pk=session.pk)
    before = [session.scheduled_start,
              SurveyInvitation.objects.filter(session=session).values_list("due_at", flat=True).first()]
    new = {
        "scheduled_start": scheduled_start, "duration_minutes": duration_minutes,
        "attendance": attendance, "format": format,
    }
    fields = [f for f, value in new.items() if getattr(session, f) != value]
    for f in fields:
        setattr(session, f, new[f])
    if fields:
        session.save(update_fields=[*fields, "updated_at"])
    if note is not None and _save_note(session=session, author=by, text=note):
        fields.append("note")
    fields += _save_rating(session=session, rating=rating)
    if not fields:
        # Nothing changed: no history line, no audit row, no recompute.
        return session
    SessionChange.objects.create(session=session, changed_by=by, fields=fields)
    _after_change(session=session, actor=by, action="session.update", fields=fields, request=request, before=before)
    return session
