"""Builders for flag and dashboard tests: a client's history of sessions, check-ins and
invitations, written as plainly as a therapist would describe it."""

import hashlib
import itertools
from datetime import timedelta

from django.utils import timezone

from alliance.models import CheckIn, SurveyInvitation
from sessions.models import Session, SessionNote
from tests.factories import SessionFactory

_tokens = itertools.count(1)


def scores(total, low_dimension=None):
    """Four dimension scores summing to `total`, as even as possible (so no dimension
    falls below 7 unless the total forces it), or with one dimension set to
    `low_dimension` and the rest made up."""
    if low_dimension is not None:
        rest = total - low_dimension
        dims = [low_dimension, rest // 3, rest // 3, rest - 2 * (rest // 3)]
    else:
        dims = [total // 4] * 4
        for k in range(total - sum(dims)):
            dims[k] += 1
    assert sum(dims) == total and all(0 <= d <= 10 for d in dims), dims
    return dict(zip(("trust", "empathy", "boundaries", "collaboration"), dims))


def session_on(client, days_ago, attendance=Session.Attendance.ATTENDED, therapist=None):
    return SessionFactory(
        client=client, therapist=therapist or client.therapist,
        scheduled_start=timezone.now() - timedelta(days=days_ago), attendance=attendance,
    )


def checkin(session, total, source=CheckIn.Source.CLIENT, low_dimension=None, comment=""):
    return CheckIn.objects.create(
        session=session, client=session.client, source=source, comment=comment,
        submitted_at=session.scheduled_start + timedelta(hours=2), **scores(total, low_dimension),
    )


def history(client, totals, *, every_days=7, therapist_totals=None):
    """Weekly attended sessions ending yesterday, each rated by the client with the
    given totals (oldest first; None = no client check-in). Returns the sessions."""
    sessions = []
    n = len(totals)
    for i, total in enumerate(totals):
        session = session_on(client, days_ago=1 + (n - 1 - i) * every_days)
        if total is not None:
            checkin(session, total)
        if therapist_totals and therapist_totals[i] is not None:
            checkin(session, therapist_totals[i], source=CheckIn.Source.THERAPIST)
        sessions.append(session)
    return sessions


def invitation(session, status, *, expires_in_days=None, channels=("email",), answered_by=None):
    """An invitation for `session` in a given state, sent on `channels` (email, sms,
    in_session_phone or in_session_device) and, if answered, answered through
    `answered_by` (the first channel unless given). `expires_in_days` < 0 means the link
    has already expired."""
    now = timezone.now()
    sent = session.scheduled_start + timedelta(hours=2)
    expires = now + timedelta(days=expires_in_days) if expires_in_days is not None else sent + timedelta(days=7)
    digest = hashlib.sha256(f"test-token-{next(_tokens)}".encode()).hexdigest()
    answered = status == SurveyInvitation.Status.ANSWERED
    in_session = [c for c in channels if c.startswith("in_session")]
    return SurveyInvitation.objects.create(
        session=session, client=session.client, token_hash=digest, status=status, due_at=sent, sent_at=sent,
        expires_at=expires, answered_at=sent + timedelta(hours=1) if answered else None,
        email_sent_at=sent if "email" in channels else None, sms_sent_at=sent if "sms" in channels else None,
        in_session_channel=in_session[0] if in_session else "",
        answered_channel=(answered_by or channels[0]) if answered else "",
    )


def note(session, text):
    n = SessionNote(session=session, author=session.therapist)
    n.text = text
    n.save()
    return n
