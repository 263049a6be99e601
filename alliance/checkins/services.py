"""What a client does with the link in a check-in email: answer it, or opt out.

A token is 256 random bits; only its SHA-256 digest is stored, on the invitation
(`token_hash`, and `reminder_token_hash` for the reminder's own link). Nothing in the URL
says who the client is. Looking a token up never changes anything: mail scanners and
link previews fetch every link in an email, and that must not count as an answer.
"""

from datetime import timedelta
from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Clinic
from audit.services import audit_record
from clients.models import Client

from alliance.models import Channel, CheckIn, SurveyInvitation

from config import prepared

from .invitations import CHANNEL_COLUMNS, token_digest

Status = SurveyInvitation.Status
# secrets.token_urlsafe(32) is 43 characters; anything much longer is not ours, and
# hashing it would only waste time.
MAX_TOKEN_LENGTH = 100


# Each link's digest column and the channel it stands for (an in-session row says
# which of the two in-session channels it was started on).
LINK_FIELDS = {
    field: channel for channel, columns in CHANNEL_COLUMNS.items() for field in (columns.token, columns.reminder)
}
IN_SESSION_FIELDS = ("in_session_token_hash", "in_session_code_hash")


def _digest(token):
    return token_digest(token[:MAX_TOKEN_LENGTH])


def _answerable(token, now):
    """A link the outbox sent, unanswered and unexpired (`sending` too: with two
    channels, the first one's link works while the second is still on its way); or an
    in-session link within its few minutes. An answer through any link closes them all."""
    digest = _digest(token)
    sent_link, in_session = Q(), Q()
    for field in LINK_FIELDS:
        sent_link |= Q(**{field: digest})
    for field in IN_SESSION_FIELDS:
        in_session |= Q(**{field: digest})
    return Q(answered_at__isnull=True) & ~Q(status=Status.ANSWERED) & (
        (sent_link & Q(status__in=[Status.SENT, Status.SENDING], expires_at__gt=now))
        | (in_session & Q(in_session_expires_at__gt=now))
    )


def _link_of(invitation, token):
    """The digest column this token matched on the invitation, and its channel."""
    digest = _digest(token)
    for field, channel in LINK_FIELDS.items():
        if getattr(invitation, field) == digest:
            return field, channel
    for field in IN_SESSION_FIELDS:
        if getattr(invitation, field) == digest:
            return field, invitation.in_session_channel or Channel.IN_SESSION_PHONE
    return None, None


def channel_of(invitation, token):
    """Which channel's link this token is."""
    return _link_of(invitation, token)[1] or invitation.in_session_channel or Channel.IN_SESSION_PHONE


def invitation_for_answer(token):
    """The invitation this token may still answer, or None: unknown, already used and
    expired tokens are alike to the caller, on purpose.

    Every link page asks this first, so it is one statement written once (`_answer_sql`)
    rather than a queryset built again on every request: building the ORM's six-way OR
    over the digest columns and its three-table select_related cost more than running
    it. The WHERE is `_answerable`'s, word for word; tests compare the two."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    sql, tables = _answer_sql()
    digest, now = _digest(token), connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, _answerable_params(digest, now))
        row = cursor.fetchone()
    if row is None:
        return None
    invitation, client, clinic = (_from_row(model, fields, row[start:end]) for model, fields, start, end in tables)
    client._state.fields_cache["clinic"] = clinic
    invitation._state.fields_cache["client"] = client
    return invitation


@cache
def _answer_sql():
    """The answerable-link lookup as SQL, with its three tables' columns (taken from the
    models, so a new field is read without editing this), and where each model's columns
    sit in the row."""
    qn = connection.ops.quote_name
    tables, columns, start = [], [], 0
    for model, alias in ((SurveyInvitation, "i"), (Client, "c"), (Clinic, "k")):
        fields = model._meta.concrete_fields
        columns += [f"{alias}.{qn(f.column)}" for f in fields]
        # The database converters the ORM would apply to each column (SQLite returns
        # datetimes as text; PostgreSQL needs next to none).
        converters = []
        for f in fields:
            col = f.get_col(model._meta.db_table)
            converters.append((col, connection.ops.get_db_converters(col) + f.get_db_converters(connection)))
        tables.append((model, ([f.attname for f in fields], converters), start, start + len(fields)))
        start += len(fields)
    sql = f"SELECT {', '.join(columns)} {_answerable_from_where()}"
    return sql, tables


def _answerable_from_where():
    """FROM … WHERE … ORDER BY … LIMIT 1 of the answerable-link lookup: `_answerable`'s
    condition as SQL. Its parameters are `_answerable_params`."""
    qn = connection.ops.quote_name
    order = ", ".join(f"i.{qn(SurveyInvitation._meta.get_field(f.lstrip('-')).column)} DESC" for f in SurveyInvitation._meta.ordering)
    assert all(f.startswith("-") for f in SurveyInvitation._meta.ordering), "the ORDER BY below is all DESC"
    return (
        f"FROM {qn(SurveyInvitation._meta.db_table)} i"
        f" JOIN {qn(Client._meta.db_table)} c ON c.id = i.client_id"
        f" JOIN {qn(Clinic._meta.db_table)} k ON k.id = c.clinic_id"
        f" WHERE {_answerable_where()}"
        f" ORDER BY {order} LIMIT 1"
    )


def _answerable_where(alias="i"):
    qn = connection.ops.quote_name
    link = " OR ".join(f"{alias}.{qn(f)} = %s" for f in LINK_FIELDS)
    in_session = " OR ".join(f"{alias}.{qn(f)} = %s" for f in IN_SESSION_FIELDS)
    return (
        f"{alias}.answered_at IS NULL AND NOT ({alias}.status = %s) AND ("
        f"(({link}) AND {alias}.status IN (%s, %s) AND {alias}.expires_at > %s)"
        f" OR (({in_session}) AND {alias}.in_session_expires_at > %s))"
    )


def _answerable_params(digest, now):
    return [Status.ANSWERED, *[digest] * len(LINK_FIELDS), Status.SENT, Status.SENDING, now,
            *[digest] * len(IN_SESSION_FIELDS), now]


def _from_row(model, fields, values):
    """A model instance from raw column values, as the ORM's iterator makes one."""
    attnames, converters = fields
    converted = []
    for value, (col, funcs) in zip(values, converters):
        for func in funcs:
            value = func(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, attnames, converted)


class PageLink(NamedTuple):
    """What the check-in page shows about the link it was opened with."""

    channel: str
    expires_at: object  # datetime, or None
    language: str
    clinic_name: str
    clinic_timezone: str


def link_for_page(token):
    """What the check-in form's page needs to know about an answerable link, or None
    (alike for unknown, used and expired, as `invitation_for_answer`): the channel it
    came by, when it stops working, the client's language, the clinic's name and time
    zone. One statement, the same WHERE as `invitation_for_answer`, seven columns rather
    than three tables' worth turned into models."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    digest, now = _digest(token), connection.ops.adapt_datetimefield_value(timezone.now())
    row = prepared.fetchone("rapport_checkin_page", _page_sql(), [*[digest] * len(LINK_FIELDS), *_answerable_params(digest, now)])
    if row is None:
        return None
    channel, expires_at, in_session_expires_at, in_session_channel, language, clinic_name, clinic_timezone = row
    if channel is None:
        channel = in_session_channel or Channel.IN_SESSION_PHONE
        expires_at = in_session_expires_at
    # The ORM's own conversion of a datetime column (SQLite returns text or naive UTC).
    expires_at = _from_db(SurveyInvitation, "expires_at", expires_at)
    return PageLink(channel, expires_at, language, clinic_name, clinic_timezone)


def _from_db(model, name, value):
    """A raw column value as the ORM would hand it back for `model.name`."""
    field = model._meta.get_field(name)
    col = field.get_col(model._meta.db_table)
    for func in connection.ops.get_db_converters(col) + field.get_db_converters(connection):
        value = func(value, col, connection)
    return value


def _link_channel_case():
    """WHEN … THEN … of a CASE naming the channel whose link column holds the digest
    (one %s per link column); no match means an in-session link."""
    qn = connection.ops.quote_name
    return " ".join(f"WHEN i.{qn(field)} = %s THEN '{channel}'" for field, channel in LINK_FIELDS.items())


@cache
def _page_sql():
    return (
        f"SELECT CASE {_link_channel_case()} END, i.expires_at, i.in_session_expires_at, i.in_session_channel,"
        f" c.language, k.name, k.timezone {_answerable_from_where()}"
    )


class Answer(NamedTuple):
    """A check-in stored by `checkin_answer`."""

    checkin_id: int
    client_id: int
    language: str


def checkin_answer(*, token, scores, comment=""):
    """Store the client's answers to whatever invitation this token may still answer.
    Returns an Answer, or None when the link can no longer be used (unknown, answered,
    expired: alike, as everywhere).

    On PostgreSQL this is one statement (`_answer_statement_sql`), atomic as every
    statement is: the conditional UPDATE that answers the link and the check-in
    (marked `flags_pending`), as data-modifying CTEs, with no read before and no BEGIN
    or COMMIT around it. Elsewhere (SQLite has no UPDATE inside WITH) it is the lookup
    and `checkin_submit`'s transaction, with the same rows as a result (a test compares
    them). Either way the flags and the audit row follow at beat's next sweep of the
    marks (alliance/flags/refresh.py), as issue 14 allows: the mark is durable with the
    answer, so a crash delays the audit row and never loses it."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    if connection.vendor != "postgresql":
        invitation = invitation_for_answer(token)
        if invitation is None:
            return None
        checkin = checkin_submit(invitation=invitation, token=token, scores=scores, comment=comment)
        if checkin is None:
            return None
        return Answer(checkin.pk, checkin.client_id, invitation.client.language)
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    digest = _digest(token)
    sql, checkin_fields = _answer_statement_sql()
    draft = CheckIn(source=CheckIn.Source.CLIENT, comment=comment, submitted_at=now, flags_pending=True, **scores)
    values = [f.get_db_prep_save(f.pre_save(draft, True), connection) for f in checkin_fields]
    params = [
        # UPDATE … SET: the answer, and which channel's link it came by.
        Status.ANSWERED, at, *[digest] * len(LINK_FIELDS), Channel.IN_SESSION_PHONE,
        # … WHERE: the link is this token's and still answerable.
        *_answerable_params(digest, at),
        # The check-in's own values.
        *values,
    ]
    row = prepared.fetchone("rapport_checkin_answer", sql, params)
    if row is None:
        return None
    checkin_id, client_id, language = row
    # Nothing queued: the check-in's flags_pending mark is the hand-off to beat's sweep,
    # durable with the answer (alliance/flags/refresh.py).
    return Answer(checkin_id, client_id, language)


@cache
def _answer_statement_sql():
    """The answer as one PostgreSQL statement, and the CheckIn fields whose values it
    takes as parameters (every concrete field the model has, but the id, the generated
    total and the three the statement takes from the answered invitation), so that a
    field added to the model is written here without editing this."""
    qn = connection.ops.quote_name
    inv, checkin_table = qn(SurveyInvitation._meta.db_table), qn(CheckIn._meta.db_table)
    from_answered = {"session": "a.session_id", "client": "a.client_id", "channel": "a.answered_channel"}
    fields = [
        f for f in CheckIn._meta.concrete_fields
        if not f.primary_key and not f.generated and f.name not in from_answered
    ]
    columns = [qn(CheckIn._meta.get_field(name).column) for name in from_answered] + [qn(f.column) for f in fields]
    # Cast to the column's type: a PREPAREd statement (config/prepared.py) must know
    # each parameter's type, and a SELECT list does not say it.
    selected = list(from_answered.values()) + [f"%s::{f.db_type(connection)}" for f in fields]
    sql = (
        f"WITH answered AS ("
        f"UPDATE {inv} i SET status = %s, answered_at = %s,"
        f" answered_channel = CASE {_link_channel_case()} ELSE COALESCE(NULLIF(i.in_session_channel, ''), %s) END"
        f" WHERE {_answerable_where()}"
        f" RETURNING i.id, i.session_id, i.client_id, i.answered_channel"
        f"), checkin AS ("
        f"INSERT INTO {checkin_table} ({', '.join(columns)}) SELECT {', '.join(selected)} FROM answered a"
        f" RETURNING id, client_id"
        f") SELECT ch.id, ch.client_id, c.language FROM checkin ch"
        f" JOIN {qn(Client._meta.db_table)} c ON c.id = ch.client_id"
    )
    return sql, fields


@transaction.atomic
def checkin_submit(*, invitation, token, scores, comment=""):
    """Store the client's answers to the invitation this token opens. Returns the
    CheckIn, or None when the link can no longer be used.

    Two statements in one transaction: the conditional UPDATE and the check-in (marked
    `flags_pending`; on PostgreSQL, `checkin_answer` writes the same rows in one
    statement). The client's flags are recomputed and the audit row written after
    commit, by beat's sweep of the marks (alliance/flags/refresh.py): the client does
    not wait.

    One conditional UPDATE decides: of any number of simultaneous submissions of one
    link, exactly one sees a row count of 1, and only that one writes a check-in.

    `invitation` is what `invitation_for_answer(token)` returned to the caller, so the
    row is not read again. The UPDATE still requires the token to match and the link to
    be answerable, so a stale or wrong object can only make the submission fail, never
    answer another invitation."""
    now = timezone.now()
    field, channel = _link_of(invitation, token)
    if field is None:
        return None
    # Answered on any channel closes the ask on all of them: an email or text still
    # waiting in the outbox is never claimed (the sweep claims only `scheduled` rows).
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            _answer_update_sql(field),
            [Status.ANSWERED, at, channel, invitation.id, _digest(token), Status.ANSWERED,
             *((at,) if field in IN_SESSION_FIELDS else (Status.SENT, Status.SENDING, at))],
        )
        answered = cursor.rowcount
    if answered != 1:
        return None
    checkin = CheckIn.objects.create(
        session_id=invitation.session_id, client=invitation.client, source=CheckIn.Source.CLIENT,
        channel=channel, comment=comment, submitted_at=now, flags_pending=True, **scores,
    )
    # The flags and the audit row follow at beat's next sweep; the answer's
    # flags_pending mark is the hand-off, durable with the answer (alliance/flags/refresh.py).
    return checkin


@cache
def _answer_update_sql(field):
    """The conditional UPDATE that answers a link, for the one link column `field` the
    token matched (not all six: the same guarantee, that the row still holds this token
    and is answerable, for a much smaller statement). Written once per column rather
    than compiled from a queryset on every answer. Of any number of simultaneous
    submissions of one link, exactly one sees a row count of 1."""
    if field not in LINK_FIELDS and field not in IN_SESSION_FIELDS:
        raise ValueError(field)
    qn = connection.ops.quote_name
    if field in IN_SESSION_FIELDS:
        still_open = "in_session_expires_at > %s"
    else:
        still_open = "status IN (%s, %s) AND expires_at > %s"
    return (
        f"UPDATE {qn(SurveyInvitation._meta.db_table)} SET status = %s, answered_at = %s, answered_channel = %s"
        f" WHERE id = %s AND {qn(field)} = %s AND answered_at IS NULL AND NOT (status = %s) AND {still_open}"
    )


def invitation_for_unsubscribe(token):
    """The invitation whose email carried this unsubscribe link, or None. Unsubscribe
    links outlive the check-in itself (SURVEY_UNSUBSCRIBE_DAYS after sending): someone
    who wants the emails to stop should not need a fresh one to say so."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    since = timezone.now() - timedelta(days=settings.SURVEY_UNSUBSCRIBE_DAYS)
    digest = _digest(token)
    # Only an email's links carry an unsubscribe link; a text is stopped by replying STOP.
    return (
        SurveyInvitation.objects.select_related("client__clinic")
        # The email's own sent time too: the row's sent_at comes only with its status,
        # at the end of its batch (alliance/checkins/outbox.py), and the link works before.
        .filter(Q(token_hash=digest) | Q(reminder_token_hash=digest))
        .filter(Q(email_sent_at__gte=since) | Q(sent_at__gte=since))
        .first()
    )


@transaction.atomic
def client_opt_out(*, client):
    """Stop all check-in emails to this client: record when, and cancel what is waiting
    to be sent if no other channel (a text) is left to take it. The sender checks the
    opt-out again at send time, so an email already on its way is stopped too.
    Idempotent."""
    now = timezone.now()
    opted_out = Client.objects.filter(pk=client.pk, opted_out_at__isnull=True).update(opted_out_at=now)
    client.opted_out_at = client.opted_out_at or now
    cancelled = invitations_cancel_if_unreachable(client=client)
    if opted_out:
        audit_record(action="client.opted_out", obj=client, clinic=client.clinic, detail={"cancelled": cancelled}, record_ip=False)
    return bool(opted_out)


def invitations_cancel_if_unreachable(*, client):
    """Cancel the client's check-ins still waiting to be sent when no channel can take
    them any more (after an unsubscribe, a STOP, consent withdrawn). Returns the count."""
    if client.can_receive_surveys:
        return 0
    return SurveyInvitation.objects.filter(
        client_id=client.pk, status__in=[Status.SCHEDULED, Status.SENDING]
    ).update(status=Status.CANCELLED, lease_until=None, attempt_started_at=None)
