"""Repair options shown with each kind of flag: our own short, practical texts, each
resting on the research named with it. They are options a therapist may weigh, never
clinical orders; the strategy codes they offer are what the acknowledgement records
(alliance.models.RepairStrategy, FlagStrategy).

Every kind also offers supervision and "something else", so a therapist is never made
to pick an option that does not describe what they did.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from alliance.models import Flag, RepairStrategy

S = RepairStrategy

# The research each option rests on: a short citation shown with the option, and the
# full reference listed under the options.
SHORT = {
    "safran_muran": "Safran & Muran, 2000",
    "eubanks": "Eubanks, Muran & Safran, 2018",
    "fluckiger": "Flückiger et al., 2018",
    "lambert": "Lambert, Whipple & Kleinstäuber, 2018",
    "duncan_miller": "Duncan & Miller, 2008",
    "tryon": "Tryon, Blackwell & Hammel, 2007",
    "swift": "Swift & Greenberg, 2012",
}
SOURCES = {
    "safran_muran": _(
        "Safran, J. D., & Muran, J. C. (2000). Negotiating the therapeutic alliance: "
        "A relational treatment guide. Guilford Press."
    ),
    "eubanks": _(
        "Eubanks, C. F., Muran, J. C., & Safran, J. D. (2018). Alliance rupture repair: "
        "A meta-analysis. Psychotherapy, 55(4), 508–519."
    ),
    "fluckiger": _(
        "Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O. (2018). The alliance "
        "in adult psychotherapy: A meta-analytic synthesis. Psychotherapy, 55(4), 316–340."
    ),
    "lambert": _(
        "Lambert, M. J., Whipple, J. L., & Kleinstäuber, M. (2018). Collecting and delivering "
        "progress feedback: A meta-analysis of routine outcome monitoring. Psychotherapy, 55(4), 520–537."
    ),
    "duncan_miller": _(
        "Duncan, B. L., & Miller, S. D. (2008). The Outcome and Session Rating Scales: "
        "The revised administration and scoring manual. Institute for the Study of Therapeutic Change."
    ),
    "tryon": _(
        "Tryon, G. S., Blackwell, S. C., & Hammel, E. F. (2007). A meta-analytic examination of "
        "client–therapist perspectives of the working alliance. Psychotherapy Research, 17(6), 629–642."
    ),
    "swift": _(
        "Swift, J. K., & Greenberg, R. P. (2012). Premature discontinuation in adult psychotherapy: "
        "A meta-analysis. Journal of Consulting and Clinical Psychology, 80(4), 547–559."
    ),
}


@dataclass(frozen=True)
class Option:
    strategy: str
    text: object
    sources: tuple

    @property
    def label(self):
        return RepairStrategy(self.strategy).label

    @property
    def citations(self):
        return [SHORT[s] for s in self.sources]


INVITE = Option(S.INVITE_FEEDBACK, _(
    "Ask openly how the last sessions have felt and what is not working, and welcome a "
    "critical answer without defending yourself."), ("safran_muran", "eubanks"))
OWN_PART = Option(S.OWN_PART, _(
    "If something you did may have contributed, say so plainly; owning your part often "
    "lets the client say more."), ("safran_muran", "eubanks"))
GOALS = Option(S.REVISIT_GOALS, _(
    "Check that you still agree on what the work is for and how you are going about it, "
    "and renegotiate if not."), ("fluckiger", "safran_muran"))
ADJUST = Option(S.ADJUST_APPROACH, _(
    "Consider slowing down, changing the balance of technique and listening, or trying "
    "another way of working that suits the client better."), ("fluckiger", "eubanks"))
REVIEW = Option(S.REVIEW_FEEDBACK, _(
    "Show the client their own check-in scores and ask what lies behind the change; "
    "feedback helps most when it is talked about."), ("lambert", "duncan_miller"))
COMPARE = Option(S.COMPARE_VIEWS, _(
    "Your rating was well above the client's: ask how the session looked from their side "
    "before assuming it went well."), ("tryon", "safran_muran"))
ATTENDANCE = Option(S.ADDRESS_ATTENDANCE, _(
    "Ask, without blame, what makes it hard to come, and whether missed sessions say "
    "something about the work itself."), ("swift", "safran_muran"))
SCHEDULE = Option(S.ADJUST_SCHEDULE, _(
    "See whether another time, frequency or format (video, phone) would make sessions "
    "easier to keep."), ("swift",))
CHANNEL = Option(S.FEEDBACK_CHANNEL, _(
    "Ask whether the check-in still suits them: another channel, answering in the "
    "session, or a word on why they stopped."), ("duncan_miller", "lambert"))
SUPERVISION = Option(S.SUPERVISION, _(
    "Talk it through in supervision or with a colleague: ruptures are easier to see "
    "from outside."), ("eubanks",))
OTHER = Option(S.OTHER, _("Say what in your private note."), ())

_ALWAYS = (SUPERVISION, OTHER)

GUIDANCE = {
    Flag.Kind.LOW_ALLIANCE: (INVITE, GOALS, ADJUST, REVIEW, *_ALWAYS),
    Flag.Kind.DROP: (INVITE, OWN_PART, REVIEW, ADJUST, *_ALWAYS),
    Flag.Kind.DECLINING: (REVIEW, INVITE, GOALS, ADJUST, *_ALWAYS),
    Flag.Kind.DISCREPANCY: (COMPARE, INVITE, REVIEW, *_ALWAYS),
    Flag.Kind.NO_FEEDBACK: (CHANNEL, INVITE, REVIEW, *_ALWAYS),
    Flag.Kind.ATTENDANCE: (ATTENDANCE, SCHEDULE, GOALS, INVITE, *_ALWAYS),
}

INTRO = _(
    "Options that research on alliance ruptures and client feedback suggests are worth "
    "considering. They are not instructions: you know this client."
)


def options_for(kind):
    """The repair options a flag of this kind offers, in the order shown."""
    return GUIDANCE.get(kind, _ALWAYS)


def sources_for(kind):
    """The full references behind a kind's options, each once, in order of first use."""
    keys = dict.fromkeys(k for o in options_for(kind) for k in o.sources)
    return [SOURCES[k] for k in keys]


def strategy_choices(kind):
    return [(o.strategy, o.label) for o in options_for(kind)]
