from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.http import require_safe

from accounts.access import staff_required, therapist_required
from alliance.checkins.in_session import in_session_blocker
from alliance.checkins.invitations import checkin_outlook
from alliance.models import SCORE_FIELDS, CheckIn, SurveyInvitation
from audit.services import audit_record
from clients.selectors import client_for_user

from . import services
from .form_tokens import REPLAY_MESSAGE, form_token_consume, form_token_is_open, form_token_issue
from .forms import SessionForm
from .models import Session, SessionNote
from .selectors import note_for_author, session_for_user



def _replayed(request, context, **form_kwargs):
    """Refuse a form whose one-time token was already used, saving nothing, and offer
    the form again under a fresh token in case the user really means a second one."""
    data = request.POST.copy()
    data["form_token"] = form_token_issue(request)
    context["form"] = SessionForm(data, **form_kwargs)
    context["replayed"] = True
    messages.error(request, REPLAY_MESSAGE)
    return render(request, "sessions/session_form.html", context, status=409)


def _saved_message(session, verb):
    """What the therapist reads after saving: what was saved, and when the check-in goes
    out and by which channels, or why none will (alliance.checkins.invitations)."""
    invitation = SurveyInvitation.objects.filter(session=session).first()
    outlook = checkin_outlook(session=session, invitation=invitation)
    if session.is_booked:
        local = timezone.localtime(session.scheduled_start, session.client.clinic.tzinfo)
        return f"Session booked for {date_format(local, 'D j M Y')} at {local:%H:%M}. {outlook}"
    return f"Session {verb}. {outlook}"


def _landing(session):
    """Where a saved session sends the therapist: an attended session whose client may
    still be in the room goes to its page, where "Check-in now" is the first thing
    offered; anything else back to the client's page."""
    if session.was_attended and in_session_blocker(session) is None:
        return redirect("session_detail", pk=session.pk)
    return redirect("client_detail", pk=session.client_id)


def _session_form_page(request, client_pk, *, booking):
    """Log a session (`booking` False) or book one: the same form and the same service;
    a booking only starts in the future with Booked chosen."""
    client = client_for_user(request.user, client_pk)
    if not client.is_active:
        # The button is hidden on a discharged client's page; the URL must agree.
        return render(request, "sessions/client_discharged.html", {"client": client}, status=409)
    tz = client.clinic.tzinfo
    context = {"client": client, "booking": booking}
    if request.method == "POST":
        form = SessionForm(request.POST, tz=tz)
        context["form"] = form
        token = request.POST.get("form_token", "")
        if not form_token_is_open(request, token):
            return _replayed(request, context, tz=tz)
        if form.is_valid():
            data = form.cleaned_data
            try:
                session = services.session_log(
                    therapist=request.user, client=client, scheduled_start=data["scheduled_start"],
                    duration_minutes=data["duration_minutes"], attendance=data["attendance"],
                    format=data["format"], note=data["note"], rating=form.rating, form_token=token,
                    request=request,
                )
            except IntegrityError:
                if not Session.objects.filter(form_token=token).exists():
                    raise
                # The same form raced itself (two submits at once): the first one won.
                form_token_consume(request, token)
                return _replayed(request, context, tz=tz)
            form_token_consume(request, token)
            messages.success(request, _saved_message(session, "logged"))
            return _landing(session)
        return render(request, "sessions/session_form.html", context, status=400)
    initial = {"form_token": form_token_issue(request), **SessionForm.initial_for_new(tz=tz, booking=booking)}
    context["form"] = SessionForm(tz=tz, initial=initial)
    return render(request, "sessions/session_form.html", context)


@therapist_required
def session_new(request, client_pk):
    return _session_form_page(request, client_pk, booking=False)


@therapist_required
def session_book(request, client_pk):
    return _session_form_page(request, client_pk, booking=True)


@staff_required
@require_safe
def session_detail(request, pk):
    session = session_for_user(request.user, pk)
    note = note_for_author(request.user, session)
    if note is not None:
        audit_record(action="note.read", actor=request.user, obj=session, clinic=session.client.clinic, request=request)
    checkins = {c.source: c for c in CheckIn.objects.filter(session=session)}
    by_client, by_therapist = checkins.get(CheckIn.Source.CLIENT), checkins.get(CheckIn.Source.THERAPIST)
    rating_rows = [
        (label, getattr(by_client, f, None), getattr(by_therapist, f, None))
        for f, label in [*((f, f.capitalize()) for f in SCORE_FIELDS), ("total", "Total (0–40)")]
    ]
    context = {
        "session": session,
        "client": session.client,
        "note": note,
        # Others learn only that a note exists; its author has just read it.
        "has_note": note is not None or SessionNote.objects.filter(session=session).exists(),
        "client_checkin": by_client,
        "therapist_checkin": by_therapist,
        "rating_rows": rating_rows,
        "invitation": SurveyInvitation.objects.filter(session=session).first(),
        "changes": session.changes.select_related("changed_by"),
        "can_edit": request.user.is_therapist,
        "needs_attendance": session.needs_attendance(),
    }
    if request.user.is_therapist and by_client is None:
        # Why "Check-in now" cannot be offered, or None when it can.
        context["checkin_now_blocker"] = in_session_blocker(session)
        context["offer_checkin_now"] = context["checkin_now_blocker"] is None
    return render(request, "sessions/session_detail.html", context)


@therapist_required
def session_edit(request, pk):
    session = session_for_user(request.user, pk)
    client = session.client
    tz = client.clinic.tzinfo
    existing_note = SessionNote.objects.filter(session=session).only("author_id").first()
    # The note field is shown only to its author, or when there is no note yet.
    show_note = existing_note is None or existing_note.author_id == request.user.pk
    context = {"session": session, "client": client}
    if request.method == "POST":
        form = SessionForm(request.POST, tz=tz, show_note=show_note)
        context["form"] = form
        token = request.POST.get("form_token", "")
        if not form_token_is_open(request, token):
            return _replayed(request, context, tz=tz, show_note=show_note)
        if form.is_valid():
            data = form.cleaned_data
            session = services.session_update(
                session=session, by=request.user, scheduled_start=data["scheduled_start"],
                duration_minutes=data["duration_minutes"], attendance=data["attendance"], format=data["format"],
                note=data["note"] if show_note else None, rating=form.rating, request=request,
            )
            form_token_consume(request, token)
            messages.success(request, _saved_message(session, "updated"))
            return redirect("session_detail", pk=session.pk)
        return render(request, "sessions/session_form.html", context, status=400)
    note = note_for_author(request.user, session) if show_note else None
    if note is not None:
        audit_record(action="note.read", actor=request.user, obj=session, clinic=client.clinic, request=request)
    rating = CheckIn.objects.filter(session=session, source=CheckIn.Source.THERAPIST).first()
    initial = SessionForm.initial_for(session, tz=tz, note=note, rating=rating)
    initial["form_token"] = form_token_issue(request)
    context["form"] = SessionForm(tz=tz, show_note=show_note, initial=initial)
    return render(request, "sessions/session_form.html", context)
