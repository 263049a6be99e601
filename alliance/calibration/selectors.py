"""Calibration: how a therapist's own ratings of sessions compare with their clients'
ratings of the same sessions. Scores only: no note, no comment is read here.

For every session rated by both sides (a "pair"), the difference is therapist total −
client total (both 0–40). Per therapist and quarter (in the clinic's time zone):

- mean difference: above 0, the therapist rates the relationship higher than the client
  does (the research finds therapists usually do);
- agreement: the share of pairs within ±AGREEMENT_POINTS points. A share is read at
  any n and does not hide a systematic gap the way a correlation can; 3 points is the
  clinic's default "drop", the smallest change the app treats as meaningful;
- correlation (Pearson r) of the two totals, only from MIN_PAIRS_FOR_R pairs: it says
  whether the therapist's ratings rise and fall with the client's, whatever the level,
  and on fewer pairs it swings too much to read;
- rated higher: the share of pairs where the therapist rated higher by at least the
  clinic's discrepancy threshold (the "discrepancy" flag's rule).

One grouped query, whatever the number of sessions: both check-ins are joined to the
session by filtered relations and every figure is a plain SQL aggregate (the sums the
correlation needs included), so it runs the same on PostgreSQL and SQLite.
"""

import math
from dataclasses import dataclass, field

from django.db.models import Count, F, FilteredRelation, Q, Sum
from django.db.models.functions import TruncQuarter
from django.utils.translation import gettext

from sessions.models import Session

AGREEMENT_POINTS = 3
MIN_PAIRS_FOR_R = 20


@dataclass
class Calibration:
    """Sums over a set of pairs; the figures are derived from them."""

    label: str = ""
    n: int = 0
    diff_sum: int = 0
    within: int = 0
    higher: int = 0
    sx: int = 0
    sy: int = 0
    sxx: int = 0
    syy: int = 0
    sxy: int = 0

    def add(self, other):
        for name in ("n", "diff_sum", "within", "higher", "sx", "sy", "sxx", "syy", "sxy"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def mean_difference(self):
        return None if not self.n else self.diff_sum / self.n

    @property
    def agreement(self):
        return None if not self.n else self.within / self.n

    @property
    def higher_share(self):
        return None if not self.n else self.higher / self.n

    @property
    def correlation(self):
        if self.n < MIN_PAIRS_FOR_R:
            return None
        vx = self.n * self.sxx - self.sx ** 2
        vy = self.n * self.syy - self.sy ** 2
        if vx <= 0 or vy <= 0:
            return None  # one side gave the same total every time
        return (self.n * self.sxy - self.sx * self.sy) / math.sqrt(vx * vy)

    @property
    def small(self):
        if self.n == 0:
            return gettext("no sessions rated by both")
        if self.n < MIN_PAIRS_FOR_R:
            return gettext("few sessions: read with care")
        return ""


@dataclass
class TherapistCalibration:
    therapist_id: int
    name: str
    overall: Calibration = field(default_factory=Calibration)
    quarters: list = field(default_factory=list)  # [Calibration], oldest first


def _quarter_label(day):
    return gettext("Q%(q)s %(year)s") % {"q": (day.month - 1) // 3 + 1, "year": day.year}


def calibration(*, clinic, start, end, therapists=None):
    """{therapist id: TherapistCalibration} for sessions held in [start, end) by the
    clinic's therapists (or only `therapists`, a queryset or list of users), plus the
    clinic as a whole under the key None. One query."""
    pairs = (
        Session.objects.filter(client__clinic=clinic, scheduled_start__gte=start, scheduled_start__lt=end)
        .annotate(
            c=FilteredRelation("checkins", condition=Q(checkins__source="client")),
            t=FilteredRelation("checkins", condition=Q(checkins__source="therapist")),
        )
        .filter(c__isnull=False, t__isnull=False)
    )
    if therapists is not None:
        pairs = pairs.filter(therapist__in=therapists)
    diff = F("t__total") - F("c__total")
    rows = (
        pairs.annotate(quarter=TruncQuarter("scheduled_start", tzinfo=clinic.tzinfo))
        .values("therapist_id", "therapist__full_name", "quarter")
        .annotate(
            n=Count("id"),
            diff_sum=Sum(diff),
            within=Count("id", filter=Q(t__total__lte=F("c__total") + AGREEMENT_POINTS,
                                        t__total__gte=F("c__total") - AGREEMENT_POINTS)),
            higher=Count("id", filter=Q(t__total__gte=F("c__total") + clinic.discrepancy_points)),
            sx=Sum("t__total"), sy=Sum("c__total"),
            sxx=Sum(F("t__total") * F("t__total")), syy=Sum(F("c__total") * F("c__total")),
            sxy=Sum(F("t__total") * F("c__total")),
        )
        .order_by("quarter")
    )
    result = {None: TherapistCalibration(therapist_id=0, name=gettext("Clinic"))}
    clinic_quarters = {}
    for r in rows:
        entry = result.setdefault(r["therapist_id"], TherapistCalibration(r["therapist_id"], r["therapist__full_name"]))
        quarter = r["quarter"].date() if hasattr(r["quarter"], "date") else r["quarter"]
        figures = Calibration(label=_quarter_label(quarter), **{k: r[k] for k in (
            "n", "diff_sum", "within", "higher", "sx", "sy", "sxx", "syy", "sxy")})
        entry.quarters.append(figures)
        entry.overall.add(figures)
        clinic_quarters.setdefault(quarter, Calibration(label=figures.label)).add(figures)
        result[None].overall.add(figures)
    result[None].quarters = [clinic_quarters[q] for q in sorted(clinic_quarters)]
    return result


def past_year(now=None):
    """The window the repair and calibration pages read: the year to now."""
    from datetime import timedelta

    from django.utils import timezone

    now = now or timezone.now()
    return now - timedelta(days=365), now + timedelta(minutes=1)
