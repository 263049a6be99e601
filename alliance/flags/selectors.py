"""Reads of flags for the therapist's pages: the client page's flag history with repair
tracking, and the "needs attention" list. Dashboards for clinic admins are in
clinic.dashboards.selectors."""

from dataclasses import dataclass, field

from clients.models import Client

from django.db.models import Case, CharField, Count, Exists, F, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from alliance.models import CheckIn, Flag, FlagRecompute, FlagStrategy, RepairNote, RepairStrategy

REPAIR_LOOKAHEAD = 3


class Verdict:
    RECOVERED = "recovered"
    NOT_YET = "not yet"
    NO_DATA = "no data"


@dataclass
class Repair:
    """How the client rated the relationship after the therapist acted on a flag.

    - total_at_flag: the client's total on the flagged session (None when that session
      has no client check-in, as for most no-feedback and attendance flags, in which
      case the latest client total before it is used);
    - pre_flag: the level before things went wrong: the client total just before the
      flagged check-in (for a declining trend, before the run started);
    - after: the client totals of the first check-ins (up to 3) on sessions held after
      the acknowledgement, oldest first;
    - verdict: "recovered" when the latest of those is back to the pre-flag level or at
      least the clinic's low-alliance threshold, "not yet" otherwise, "no data" when
      the client has not rated a session since.
    """

    total_at_flag: int | None
    pre_flag: int | None
    target: int
    after: list = field(default_factory=list)
    verdict: str = Verdict.NO_DATA

    @property
    def recovered(self):
        return self.verdict == Verdict.RECOVERED


def repair_for_flag(flag, timeline, clinic):
    """`timeline`: the client's client-rated check-ins as (session_start, session_id,
    total) tuples, oldest first. Pure Python, so a page of flags costs no queries."""
    if flag.acknowledged_at is None:
        return None
    index = None
    if flag.session_id is not None:
        index = next((i for i, row in enumerate(timeline) if row[1] == flag.session_id), None)
    flag_start = flag.session.scheduled_start if flag.session_id and flag.session else flag.raised_at
    if index is not None:
        total_at_flag = timeline[index][2]
        before = timeline[:index]
    else:
        before = [row for row in timeline if row[0] <= flag_start]
        total_at_flag = before[-1][2] if before else None
        before = before[:-1]
    back = clinic.declining_run - 1 if flag.kind == Flag.Kind.DECLINING else 1
    pre_flag = before[-back][2] if len(before) >= back else None
    target = clinic.low_total_below if pre_flag is None else min(pre_flag, clinic.low_total_below)
    after = [row[2] for row in timeline if row[0] > flag.acknowledged_at][:REPAIR_LOOKAHEAD]
    if not after:
        verdict = Verdict.NO_DATA
    elif after[-1] >= target:
        verdict = Verdict.RECOVERED
    else:
        verdict = Verdict.NOT_YET
    return Repair(total_at_flag=total_at_flag, pre_flag=pre_flag, target=target, after=after, verdict=verdict)


def _timelines(client_ids):
    rows = (
        CheckIn.objects.filter(client_id__in=client_ids, source=CheckIn.Source.CLIENT)
        .order_by("session__scheduled_start", "session_id")
        .values_list("client_id", "session__scheduled_start", "session_id", "total")
    )
    timelines = {}
    for client_id, start, session_id, total in rows:
        timelines.setdefault(client_id, []).append((start, session_id, total))
    return timelines


def repair_notes_for_author(viewer, flags):
    """{flag id: text} of the private repair notes `viewer` wrote on these flags; empty
    for anyone else. The only place a repair note is decrypted for display, as
    sessions.selectors.note_for_author is for session notes. One query."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.is_therapist or not flags:
        return {}
    return dict(
        RepairNote.objects.filter(flag__in=[f.pk for f in flags], author=viewer).values_list("flag_id", "text")
    )


def flags_for_client_page(client, viewer=None):
    """Every flag of one client, newest first, each with `.repair` (None until
    acknowledged), `.strategy_labels` and `.my_note` (the viewer's own private note on
    it, or None). Three queries whatever the number of flags and check-ins, four with a
    therapist viewing. `client` must come from clients.selectors (already scoped to the
    user); each flag's `.client` is set to it so templates can check the therapist
    without a query."""
    flags = list(
        Flag.objects.filter(client=client).select_related("session", "acknowledged_by")
        .prefetch_related(Prefetch("strategies", queryset=FlagStrategy.objects.order_by("id")))
    )
    acknowledged = [f for f in flags if f.acknowledged_at is not None]
    timeline = _timelines([client.pk]).get(client.pk, []) if acknowledged else []
    notes = repair_notes_for_author(viewer, acknowledged)
    for flag in flags:
        flag.client = client
        flag.repair = repair_for_flag(flag, timeline, client.clinic)
        flag.strategy_labels = [RepairStrategy(s.strategy).label for s in flag.strategies.all()]
        flag.my_note = notes.get(flag.pk)
    # Open flags first (resolved_at NULL sorts first on SQLite, last on PostgreSQL).
    flags.sort(key=lambda f: (f.resolved_at is not None, -f.raised_at.timestamp(), -f.id))
    return flags


@dataclass
class ClientAttention:
    """One client on the needs-attention list, with all their open flags."""

    client: Client
    flags: list = field(default_factory=list)

    @property
    def to_review(self):
        return [f for f in self.flags if f.acknowledged_at is None]

    @property
    def severity(self):
        return max(f.severity for f in self.flags)

    @property
    def open_since(self):
        return min(f.raised_at for f in self.flags)


def flags_needing_attention(therapist):
    """Open flags across the therapist's active caseload, one row per client: clients
    with a flag nobody has acted on yet, then those whose flags were all acknowledged
    but have not cleared. Within each, the client with the most severe flag first, then
    the one waiting longest; a client's flags in the same order. One query."""
    flags = (
        Flag.objects.filter(
            resolved_at__isnull=True,
            client__therapist=therapist,
            client__clinic_id=therapist.clinic_id,
            client__status=Client.Status.ACTIVE,
        )
        .select_related("client", "session")
        .order_by("-severity", "raised_at", "id")
    )
    rows = {}
    for flag in flags:
        rows.setdefault(flag.client_id, ClientAttention(client=flag.client)).flags.append(flag)
    ordered = sorted(rows.values(), key=lambda r: (-r.severity, r.open_since, r.client.pk))
    to_review = [r for r in ordered if r.to_review]
    acknowledged = [r for r in ordered if not r.to_review]
    return to_review, acknowledged


@dataclass
class RecomputeProgress:
    """The latest recompute of a clinic's flags (alliance.models.FlagRecompute), as the
    clinic settings page and its status endpoint show it: counts only."""

    running: bool
    done: int
    total: int
    finished_at: object = None

    @property
    def text(self):
        clients = f"{self.total} client{'' if self.total == 1 else 's'}"
        if self.running:
            return f"Recomputing flags with the new thresholds: {self.done} of {clients}."
        return f"Flags recomputed with the current thresholds for all {clients}."

    def as_json(self):
        return {
            "running": self.running, "done": self.done, "total": self.total, "text": self.text,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def flag_recompute_progress(clinic_id):
    """The clinic's latest flag recompute, or None if its thresholds never changed."""
    run = FlagRecompute.objects.filter(clinic_id=clinic_id).order_by("-id").first()
    if run is None:
        return None
    return RecomputeProgress(
        running=run.is_running, done=min(run.done, run.total), total=run.total, finished_at=run.finished_at,
    )


# --- What works here: recovery rates by flag kind and strategy -----------------------------

# Below this many flags with an outcome, a rate says nothing; below the second, little.
TOO_FEW = 5
INT = IntegerField()
FEW = 20


def _client_checkins(outer_client="client_id"):
    return CheckIn.objects.filter(client=OuterRef(outer_client), source=CheckIn.Source.CLIENT)


def flags_with_verdict(flags, clinic):
    """`flags` (acknowledged ones, of one clinic) annotated with `verdict`: the same
    answer repair_for_flag gives from a client's timeline, computed in SQL with
    correlated subqueries so a clinic's figures cost one grouped query whatever its
    size (tests/alliance/flags/test_what_works.py proves the two agree on the demo).

    The rules, as in repair_for_flag: "after" is the client's check-ins on sessions
    after the acknowledgement, first three; the one that counts is the third, or the
    latest when there are fewer. The pre-flag level is the client total `back` check-ins
    before the flagged one (back = declining_run − 1 for a declining trend, else 1), or,
    when the flagged session has no client check-in, `back` before the latest one up to
    the flag. The target is the lower of that and the low-alliance threshold."""
    low = clinic.low_total_below
    after = _client_checkins().filter(session__scheduled_start__gt=OuterRef("acknowledged_at"))
    after_last = Coalesce(
        Subquery(after.order_by("session__scheduled_start", "session_id").values("total")[2:3], output_field=INT),
        Subquery(after.order_by("-session__scheduled_start", "-session_id").values("total")[:1], output_field=INT),
    )
    flagged = _client_checkins().filter(session_id=OuterRef("session_id"))
    # Strictly before the flagged check-in, in timeline order (start, then session id).
    before_flagged = _client_checkins().filter(
        Q(session__scheduled_start__lt=OuterRef("session__scheduled_start"))
        | Q(session__scheduled_start=OuterRef("session__scheduled_start"), session_id__lt=OuterRef("session_id"))
    ).order_by("-session__scheduled_start", "-session_id")
    # Up to the flag (its session's start, or when it was raised), the latest included.
    up_to_flag = _client_checkins().filter(
        session__scheduled_start__lte=Coalesce(OuterRef("session__scheduled_start"), OuterRef("raised_at"))
    ).order_by("-session__scheduled_start", "-session_id")
    back = clinic.declining_run - 1

    def nth(qs, offset_other, offset_declining):
        return Case(
            When(kind=Flag.Kind.DECLINING,
                 then=Subquery(qs.values("total")[offset_declining:offset_declining + 1], output_field=INT)),
            default=Subquery(qs.values("total")[offset_other:offset_other + 1], output_field=INT),
            output_field=INT,
        )

    pre_flag = Case(
        When(Exists(flagged), then=nth(before_flagged, 0, back - 1)),
        default=nth(up_to_flag, 1, back),
        output_field=INT,
    )
    return flags.annotate(after_last=after_last, pre_flag=pre_flag).annotate(
        target=Case(When(pre_flag__lt=low, then=F("pre_flag")), default=Value(low), output_field=INT),
    ).annotate(
        verdict=Case(
            When(after_last__isnull=True, then=Value(Verdict.NO_DATA)),
            When(after_last__gte=F("target"), then=Value(Verdict.RECOVERED)),
            default=Value(Verdict.NOT_YET),
            output_field=CharField(),
        )
    )


@dataclass
class Outcome:
    """How the flags of one kind (and one strategy, or all of them) turned out."""

    kind: str
    strategy: str | None
    recovered: int = 0
    not_yet: int = 0
    no_data: int = 0

    @property
    def kind_label(self):
        return Flag.Kind(self.kind).label

    @property
    def strategy_label(self):
        if self.strategy is None:
            return gettext("Not recorded (acknowledged before strategies were asked)")
        return RepairStrategy(self.strategy).label

    @property
    def with_outcome(self):
        return self.recovered + self.not_yet

    @property
    def rate(self):
        return None if not self.with_outcome else self.recovered / self.with_outcome

    @property
    def certainty(self):
        """What the numbers can say, in plain words: no p-values."""
        n = self.with_outcome
        if n == 0:
            return gettext("no outcome yet")
        if n < TOO_FEW:
            return gettext("too few to tell")
        if n < FEW:
            return gettext("a small number: a hint at most")
        return gettext("enough to compare, not proof of cause")

    @property
    def summary(self):
        n = self.with_outcome
        if n == 0:
            return self.certainty
        if n < TOO_FEW:
            return gettext("%(recovered)s of %(n)s — too few to tell") % {"recovered": self.recovered, "n": n}
        return gettext("%(recovered)s of %(n)s (%(pct)s%%) — %(certainty)s") % {
            "recovered": self.recovered, "n": n, "pct": round(100 * self.rate), "certainty": self.certainty,
        }


@dataclass
class WhatWorks:
    by_kind: list  # [Outcome] with strategy None meaning "all strategies"
    by_strategy: dict  # kind -> [Outcome], most flags first

    @property
    def empty(self):
        return not any(o.with_outcome or o.no_data for o in self.by_kind)


def what_works(*, clinic, start, end, therapist=None):
    """Recovery after acknowledged flags by kind, and by kind and strategy, for flags
    acknowledged in [start, end) in the clinic (or one therapist's current caseload).
    Two grouped queries whatever the number of flags; scores only, never a note. A flag
    with several strategies counts once under each."""
    flags = Flag.objects.filter(
        client__clinic=clinic, acknowledged_at__gte=start, acknowledged_at__lt=end,
    )
    if therapist is not None:
        flags = flags.filter(client__therapist=therapist)
    judged = flags_with_verdict(flags, clinic)

    field_of = {Verdict.RECOVERED: "recovered", Verdict.NOT_YET: "not_yet", Verdict.NO_DATA: "no_data"}

    def tally(rows, key):
        out = {}
        for r in rows:
            o = out.setdefault(key(r), Outcome(kind=r["kind"], strategy=r.get("strategies__strategy")))
            name = field_of[r["verdict"]]
            setattr(o, name, getattr(o, name) + r["n"])
        return out

    kinds = tally(judged.values("kind", "verdict").annotate(n=Count("id")).order_by(), lambda r: r["kind"])
    pairs = tally(
        judged.values("kind", "strategies__strategy", "verdict").annotate(n=Count("id")).order_by(),
        lambda r: (r["kind"], r["strategies__strategy"]),
    )
    order = sorted(Flag.Kind, key=lambda k: -Flag.SEVERITY[k])
    by_kind = [kinds.get(k, Outcome(kind=k, strategy=None)) for k in order]
    by_strategy = {}
    for (kind, _strategy), o in pairs.items():
        by_strategy.setdefault(kind, []).append(o)
    for rows in by_strategy.values():
        rows.sort(key=lambda o: (-(o.with_outcome + o.no_data), o.strategy or "~"))
    return WhatWorks(by_kind=by_kind, by_strategy=by_strategy)
