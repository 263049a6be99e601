"""What a client does with the link in a check-in email: answer it, or opt out.

A token is 256 random bits; only its SHA-256 digest is stored, on the invitation
(`token_hash`, and `reminder_token_hash` for the reminder's own link). Nothing in the URL
says who the client is. Looking a token up never changes anything: mail scanners and
link previews fetch every link in an email, and that must not count as an answer.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from clients.models import Client

from alliance.flags.rules import flags_recompute_for_client
from .invitations import token_digest
from alliance.models import CheckIn, SurveyInvitation

Status = SurveyInvitation.Status
# secrets.token_urlsafe(32) is 43 characters; anything much longer is not ours, and
# hashing it would only waste time.
MAX_TOKEN_LENGTH = 100


def _matches(token):
    digest = token_digest(token[:MAX_TOKEN_LENGTH])
    return Q(token_hash=digest) | Q(reminder_token_hash=digest)


def _answerable(now):
    return Q(status=Status.SENT, answered_at__isnull=True, expires_at__gt=now)


def invitation_for_answer(token):
    """The invitation this token may still answer, or None: unknown, already used and
    expired tokens are alike to the caller, on purpose."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    return (
        SurveyInvitation.objects.select_related("client__clinic")
        .filter(_matches(token), _answerable(timezone.now()))
        .first()
    )


@transaction.atomic
def checkin_submit(*, invitation, token, scores, comment=""):
    """Store the client's answers to the invitation this token opens. Returns the
    CheckIn, or None when the link can no longer be used.

    One conditional UPDATE decides: of any number of simultaneous submissions of one
    link, exactly one sees a row count of 1, and only that one writes a check-in.

    `invitation` is what `invitation_for_answer(token)` returned to the caller, so the
    row is not read again. The UPDATE still requires the token to match and the link to
    be answerable, so a stale or wrong object can only make the submission fail, never
    answer another invitation."""
    now = timezone.now()
    answered = SurveyInvitation.objects.filter(_matches(token), _answerable(now), id=invitation.id).update(
        status=Status.ANSWERED, answered_at=now
    )
    if answered != 1:
        return None
    checkin = CheckIn.objects.create(
        session_id=invitation.session_id, client=invitation.client, source=CheckIn.Source.CLIENT,
        comment=comment, submitted_at=now, **scores,
    )
    # Actor None: the client has no account. No IP either: clients are not staff, and
    # the trail needs to know that a check-in arrived, not from where.
    audit_record(
        action="checkin.submitted", obj=checkin, clinic=invitation.client.clinic,
        detail={"session_id": invitation.session_id, "invitation_id": invitation.id}, record_ip=False,
    )
    flags_recompute_for_client(client=invitation.client)
    return checkin


def invitation_for_unsubscribe(token):
    """The invitation whose email carried this unsubscribe link, or None. Unsubscribe
    links outlive the check-in itself (SURVEY_UNSUBSCRIBE_DAYS after sending): someone
    who wants the emails to stop should not need a fresh one to say so."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    since = timezone.now() - timedelta(days=settings.SURVEY_UNSUBSCRIBE_DAYS)
    return (
        SurveyInvitation.objects.select_related("client__clinic")
        .filter(_matches(token), sent_at__gte=since)
        .first()
    )


@transaction.atomic
def client_opt_out(*, client):
    """Stop all check-in emails to this client: record when, and cancel what is waiting
    to be sent. The sender checks the opt-out again at send time, so an invitation
    already on its way is stopped too. Idempotent."""
    now = timezone.now()
    opted_out = Client.objects.filter(pk=client.pk, opted_out_at__isnull=True).update(opted_out_at=now)
    cancelled = SurveyInvitation.objects.filter(
        client_id=client.pk, status__in=[Status.SCHEDULED, Status.SENDING]
    ).update(status=Status.CANCELLED, lease_until=None, attempt_started_at=None)
    if opted_out:
        client.opted_out_at = now
        audit_record(action="client.opted_out", obj=client, clinic=client.clinic, detail={"cancelled": cancelled}, record_ip=False)
    return bool(opted_out)
