"""Load the demo clinic used by `make run`: three therapists and thirty clients with
histories a clinician would believe. Idempotent: if the demo clinic exists, nothing
changes. Deterministic: each client's history comes from a random generator seeded with
their name, and every time is counted back from now in the clinic's time zone, so
seeding at the same moment gives the same clinic.

What it holds (ROSTER):

- rhythms: most clients weekly, some fortnightly, each in a regular slot of their own
  (a weekday and a time within working hours in the clinic's time zone) with the odd
  reschedule, holidays and a fortnight's leave per therapist; some clients new, some
  lapsed (active, but not seen for weeks), some discharged;
- check-ins on every channel (alliance.models.Channel): by email, by text, in the
  session on the client's phone or on the therapist's device; clients without an email
  address, with a mobile number (fictional: +1 ddd 555-01xx), an unsubscribe, a STOP
  reply, a failed send, expired and pending invitations, and the invitation rows filled
  in as the outbox and the in-session check-in would have left them;
- the therapist's own rating on most sessions, and a handful of varied comments;
- flags computed by the app's own rules (alliance.flags.rules), replayed in the order
  things happened (see `_replay`), so each was raised when its evidence arrived and
  cleared when it stopped holding, months apart; most acknowledged a few days later
  with the repair strategies the therapist used (and now and then a private note),
  some still open; which strategies recovered the alliance is the app's own verdict;
- a supervisor (SUPERVISOR) assigned to the first two therapists.

Each client follows a storyline (see ROSTER) whose rule fires at the end of their
history, so every kind of flag is open somewhere; "repair" and "low" clients had a flag
six sessions ago that their therapist acted on: "repair" clients recovered, "low"
clients have not.

Upcoming sessions are `_book_upcoming`'s: see there.
"""

import heapq
import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Clinic, User
from alliance.checkins.invitations import token_digest
from alliance.flags.rules import flags_recompute_for_client
from accounts.models import Supervision
from alliance.flags.guidance import options_for
from alliance.models import Channel, CheckIn, Flag, FlagStrategy, RepairNote, RepairStrategy, SurveyInvitation
from clients.models import Client
from sessions.models import Session, SessionNote

DEMO_CLINIC = "Riverside Counselling (demo)"
# Where the demo clinic is. Its clients' mobile numbers are North American fictional ones
# (555-0100 to 555-0199), which the client form accepts; the UK's drama range
# (07700 900xxx) is refused by the phone number validation.
DEMO_TIMEZONE = "America/New_York"
DEMO_PASSWORD = "rapport-demo-2026"
ADMIN_EMAIL = "admin@demo.rapport.test"
THERAPISTS = [
    ("ana@demo.rapport.test", "Ana Ortega"),
    ("ben@demo.rapport.test", "Ben Okafor"),
    ("chloe@demo.rapport.test", "Chloe Martin"),
]
SEED = 20261128
# The demo supervisor, who supervises the first two therapists.
SUPERVISOR = ("dana@demo.rapport.test", "Dana Whitfield")
SUPERVISEES = 2

# How many sessions before the end the "repair" and "low" clients' therapists acted on a flag.
ACK_AT_REMAINING = 6
ACK_RESPONSES = {"repair": Flag.Response.DISCUSSED, "low": Flag.Response.ADJUSTED}
# The last sessions of a storyline are left to the storyline: no random misses or
# unanswered check-ins there, so its ending holds.
QUIET_END = ACK_AT_REMAINING + 1


@dataclass(frozen=True)
class Person:
    """One demo client.

    every: weeks between sessions; began: weeks ago their first session was; ended:
    weeks ago their last one was (0: still coming); outcome: ongoing, lapsed (still
    active, no longer coming) or discharged; reach: how check-ins can reach them
    (email, sms, email+sms, or room: neither, so only in the session); change: a
    channel that changed half way (email_opt_out, sms_stop, email_failed).
    """

    name: str
    story: str
    every: int = 1
    began: int = 26
    ended: int = 0
    outcome: str = "ongoing"
    reach: str = "email"
    language: str = "en"
    change: str = ""


# The storylines, each built so that with the default thresholds its rule fires at the
# end of the history: steady (nothing, or one rough session that clears); improving
# (low at first, rising); drop (a fall of 7 at the last session: drop, low alliance);
# declining (four falling totals: declining trend, low alliance); discrepancy (the
# therapist 8 above the client on the last three); no_feedback (the last four
# check-ins unanswered); attendance (2 missed of the last 5); low (around 32, sliding
# after a response six sessions ago: repair "not yet"); repair (a dip six sessions ago,
# acted on, then recovery: "recovered"). The first ten clients are all still coming, so
# each storyline ends now at least once. Each client's therapist is their index modulo
# three.
ROSTER = [
    Person("A.B.", "steady"),
    Person("C.D.", "repair", began=24, reach="email+sms"),
    Person("E.F.", "steady", every=2, began=30),
    Person("G.H.", "improving", began=20, reach="sms"),
    Person("J.K.", "drop", began=22),
    Person("L.M.", "declining", began=18, reach="email+sms"),
    Person("N.P.", "discrepancy", began=16),
    Person("Q.R.", "no_feedback", began=20),
    Person("S.T.", "attendance", began=14, reach="email+sms"),
    Person("U.V.", "low", began=24),
    Person("Maya", "steady", began=12, reach="room"),
    Person("Liam", "repair", every=2, began=28),
    Person("Sofía", "steady", began=26, ended=10, outcome="discharged", language="es"),
    Person("Noah", "improving", began=26, ended=4, outcome="discharged", reach="email+sms"),
    Person("Aisha", "drop", began=20, ended=7, outcome="lapsed", reach="sms"),
    Person("Mateo", "declining", every=2, began=26, language="es"),
    Person("Priya", "steady", began=6, reach="email+sms"),
    Person("Owen", "no_feedback", began=18),
    Person("Zara", "attendance", began=16, ended=6, outcome="lapsed"),
    Person("Luca", "low", began=20, reach="room"),
    Person("Ines", "steady", began=24, change="email_opt_out"),
    Person("Theo", "repair", began=15, reach="email+sms", change="sms_stop"),
    Person("Hana", "steady", every=2, began=20, reach="sms"),
    Person("Felix", "improving", began=4),
    Person("Rosa", "drop", began=26, ended=12, outcome="discharged", language="es"),
    Person("Kai", "declining", began=10, reach="email+sms"),
    Person("Nadia", "discrepancy", every=2, began=24),
    Person("Elias", "steady", began=26, ended=9, outcome="lapsed", change="email_failed"),
    Person("Yara", "attendance", began=8, reach="sms"),
    Person("Jonas", "low", began=26, ended=3, outcome="discharged"),
]

# Working hours: sessions start on the hour or half past, 8:00 to 18:00, Monday to Friday.
FIRST_HOUR, LAST_HOUR = 8, 18
# Weeks ago (first, last) each therapist was on leave: their clients had no sessions.
# One per therapist, in THERAPISTS order.
LEAVE = [(15, 16), (9, 10), (20, 21)]

# What clients write, in their language: mostly nothing; a few words when a session
# went well, and more often when it did not, never the same thing twice. Nothing that
# identifies anyone.
COMMENTS = {
    "en": {
        "good": [
            "Felt good to talk it through.",
            "Helpful to slow down today.",
            "I liked that we went back to what I said last week.",
            "The worksheet made more sense this time.",
            "Felt listened to, even on the hard bits.",
            "Glad we talked about work.",
            "Easier to open up than last time.",
            "The breathing exercise at the end was useful.",
            "Good to have a plan for the week.",
            "Thank you for remembering what I said about my sister.",
            "I feel like we're getting somewhere.",
            "Nice to end on something hopeful.",
        ],
        "hard": [
            "It felt a bit rushed at the end.",
            "Not sure the homework is right for me.",
            "I didn't feel we got to what I came in with.",
            "Found it hard to talk today, not sure why.",
            "I'd like more time to talk rather than exercises.",
            "I felt a bit judged today.",
            "Hard to focus on a call today.",
            "Felt like we went over the same ground again.",
            "I wasn't ready to talk about that yet.",
            "Would have liked a clearer plan for the week.",
        ],
    },
    "es": {
        "good": [
            "Me ayudó hablarlo con calma.",
            "Buena sesión, gracias.",
            "Sentí que me escucharon.",
            "Gracias por la paciencia.",
        ],
        "hard": [
            "Se me hizo corta la sesión.",
            "No tengo claro para qué sirven los ejercicios.",
            "Hoy me costó hablar.",
        ],
    },
}
# The therapist's private notes: short, like real ones, and never shown to anyone else.
NOTES = [
    "Reviewed the week. Worked through a thought record; homework agreed.",
    "Explored the argument at home; practised a grounding exercise.",
    "Arrived late; shorter session, mostly on sleep.",
    "Talked about the anniversary coming up. Tearful, settled by the end.",
    "Went over progress so far and what to focus on next.",
    "Role-played the conversation with their manager.",
    "Quiet session; more silences than usual. Check in about it next time.",
    "Followed up on the exposure step; managed two of three.",
    "Mostly about family visit. Agreed to keep a mood diary.",
    "Discussed ending and how many sessions are left.",
]
# What a therapist records having done about a flag, besides the response itself.
RESPONSE_TEXTS = {
    Flag.Response.DISCUSSED: [
        "Asked how the last session felt; agreed to check in about it at the start of each session.",
        "Named the dip and asked what I could do differently.",
    ],
    Flag.Response.ADJUSTED: [
        "Slowed the pace; fewer worksheets, more time on what they bring.",
        "Back to agreeing goals together before any technique.",
    ],
    Flag.Response.FREQUENCY: ["Moved to a later slot that fits their shifts."],
    Flag.Response.REFERRED: ["Referred for a medication review; continuing sessions meanwhile."],
    Flag.Response.OTHER: [
        "Took it to supervision; plan agreed there.",
        "Asked whether texts would suit better than email.",
    ],
}
# Which responses a therapist picks for which kind of flag, with weights.
RESPONSES_FOR = {
    Flag.Kind.ATTENDANCE: [(Flag.Response.FREQUENCY, 5), (Flag.Response.DISCUSSED, 4), (Flag.Response.OTHER, 1)],
    Flag.Kind.NO_FEEDBACK: [(Flag.Response.DISCUSSED, 6), (Flag.Response.OTHER, 4)],
}
RESPONSES_DEFAULT = [
    (Flag.Response.DISCUSSED, 10), (Flag.Response.ADJUSTED, 7), (Flag.Response.OTHER, 2), (Flag.Response.REFERRED, 1),
]
# The repair strategies (alliance/flags/guidance.py) a therapist's kind of response
# stands for, first match among those the flag's kind offers; a second option of the
# kind is added now and then. Which of them recovered is then the app's own verdict on
# the data, never placed by hand.
STRATEGIES_FOR = {
    Flag.Response.DISCUSSED: [
        RepairStrategy.INVITE_FEEDBACK, RepairStrategy.REVIEW_FEEDBACK, RepairStrategy.COMPARE_VIEWS,
        RepairStrategy.OWN_PART, RepairStrategy.ADDRESS_ATTENDANCE, RepairStrategy.FEEDBACK_CHANNEL,
    ],
    Flag.Response.ADJUSTED: [RepairStrategy.ADJUST_APPROACH, RepairStrategy.REVISIT_GOALS],
    Flag.Response.FREQUENCY: [RepairStrategy.ADJUST_SCHEDULE, RepairStrategy.ADJUST_APPROACH],
    Flag.Response.REFERRED: [RepairStrategy.SUPERVISION],
    Flag.Response.OTHER: [RepairStrategy.SUPERVISION, RepairStrategy.OTHER],
}
SECOND_STRATEGY = 0.35
# A therapist who responded to a client's flags does not respond again within this long.
ACK_COOL_OFF = timedelta(days=28)
# Flags this young have not been looked at yet: the "needs attention" list has work.
ACK_NOT_BEFORE = timedelta(days=4)


@dataclass
class Slot:
    """A client's regular appointment: weekday (0 = Monday), time, every how many
    weeks, length, format."""

    weekday: int
    hour: int
    minute: int
    every: int
    duration: int
    format: str


@dataclass
class Visit:
    """One session of a client's history, as planned before it is written."""

    start: datetime
    duration: int
    format: str
    attendance: str
    # Sessions left in the history, this one included: 1 is the last.
    remaining: int
    client_total: int | None = None
    session: Session | None = None

    @property
    def end(self):
        return self.start + timedelta(minutes=self.duration)

    @property
    def logged_at(self):
        """Therapists log a session in its last minutes: an in-session check-in needs
        it logged as attended."""
        return self.end - timedelta(minutes=5)


@dataclass(order=True)
class Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: object = field(compare=False, default=None)


def _digest():
    # Nobody holds the token behind a demo link, as for any link before it is sent.
    return token_digest(secrets.token_urlsafe(32))


class Command(BaseCommand):
    help = "Create the demo clinic, staff, clients and six months of sessions (idempotent)."

    def handle(self, *args, **options):
        if Clinic.objects.filter(name=DEMO_CLINIC).exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        with transaction.atomic():
            booked = self._create(timezone.now())
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        if not booked:
            self.stdout.write("No upcoming sessions: this version has no 'booked' attendance state.")

    def _create(self, now):
        clinic = Clinic.objects.create(name=DEMO_CLINIC, timezone=DEMO_TIMEZONE, created_at=now - timedelta(weeks=40))
        # One hash for the one public demo password: hashing is slow on purpose, and
        # four times over is seconds of waiting for nothing.
        password = make_password(DEMO_PASSWORD)
        User.objects.create(
            email=ADMIN_EMAIL, password=password, full_name="Dana Admin", role="clinic_admin", clinic=clinic,
        )
        therapists = [
            User.objects.create(email=email, password=password, full_name=name, role="therapist", clinic=clinic)
            for email, name in THERAPISTS
        ]
        supervisor = User.objects.create(
            email=SUPERVISOR[0], password=password, full_name=SUPERVISOR[1], role="supervisor", clinic=clinic,
        )
        Supervision.objects.bulk_create([
            Supervision(clinic=clinic, supervisor=supervisor, therapist=t) for t in therapists[:SUPERVISEES]
        ])
        slots = {}
        diaries = [_Diary(leave) for leave in LEAVE]
        for i, person in enumerate(ROSTER):
            rng = random.Random(f"{SEED}:{person.name}")
            t = i % len(therapists)
            history = _History(rng, clinic, therapists[t], diaries[t], i, person, now)
            history.run()
            if person.outcome == "ongoing" and history.last_start:
                slots[history.client] = (history.slot, history.last_start)
        booked = _book_upcoming(clinic=clinic, slots=slots, now=now)
        # The history is written in bulk, past the services that keep the dashboard's
        # figures: build them from it, as a rebuild would.
        from clinic.dashboards.figures import figures_recompute

        figures_recompute(clinic)
        return booked


def _book_upcoming(*, clinic, slots, now):
    """The next two sessions of each client still coming (`slots`: client → (their
    Slot, their last session's start)), in their usual slot and rhythm: what a therapist
    sees ahead on the caseload. One client's booking from yesterday was never updated,
    so the "needs attendance recorded" prompt has something to show. Returns the
    sessions it booked."""
    tz = clinic.tzinfo
    booked = []
    for client, (slot, last_start) in slots.items():
        last_day = last_start.astimezone(tz).date()
        monday = last_day - timedelta(days=last_day.weekday())
        upcoming, week = [], slot.every
        while len(upcoming) < 2:
            day = monday + timedelta(weeks=week, days=slot.weekday)
            start = datetime.combine(day, time(slot.hour, slot.minute), tzinfo=tz)
            if start > now and not _holiday(day):
                upcoming.append(start)
            week += slot.every
        booked += Session.objects.bulk_create([
            Session(
                client=client, therapist=client.therapist, scheduled_start=start, duration_minutes=slot.duration,
                attendance=Session.Attendance.BOOKED, format=slot.format, created_at=now,
            )
            for start in upcoming
        ])
    overdue = next(iter(slots), None)
    if overdue is not None:
        slot = slots[overdue][0]
        yesterday = (now - timedelta(days=1)).astimezone(tz).date()
        booked.append(Session.objects.create(
            client=overdue, therapist=overdue.therapist, duration_minutes=slot.duration, format=slot.format,
            scheduled_start=datetime.combine(yesterday, time(slot.hour, slot.minute), tzinfo=tz),
            attendance=Session.Attendance.BOOKED, created_at=now - timedelta(days=8),
        ))
    return booked


class _Diary:
    """One therapist's appointments, so that no two of their sessions overlap: the
    regular slots of their clients, every session held, and their leave (weeks ago,
    first and last)."""

    # Sessions start on the hour or half past and last at most an hour.
    GAP = timedelta(minutes=60)

    def __init__(self, leave):
        self.leave = leave
        self.slots = []
        self.held = {}

    def new_slot(self, rng, *, every, duration, format):
        while True:
            slot = Slot(
                weekday=rng.randrange(5), hour=rng.randint(FIRST_HOUR, LAST_HOUR), minute=rng.choice([0, 0, 0, 30]),
                every=every, duration=duration, format=format,
            )
            minutes = slot.hour * 60 + slot.minute
            if all(
                other.weekday != slot.weekday or abs(other.hour * 60 + other.minute - minutes) >= 60
                for other in self.slots
            ):
                self.slots.append(slot)
                return slot

    def is_free(self, start):
        return all(abs(start - other) >= self.GAP for other in self.held.get(start.date(), ()))

    def take(self, start):
        self.held.setdefault(start.date(), []).append(start)


class _History:
    """One client's history, in three steps:

    1. `_plan`: their sessions, from their slot and rhythm;
    2. `_write`: the sessions as the therapist logged them (attendance, a note, their
       own rating) and each check-in's invitation as it went out or was started in the
       room, all in one go. The flag rules see none of it before its time: a session's
       attendance counts once it has started, an invitation once it is answered or has
       expired;
    3. `_replay`: what changes what the rules see (a missed session, an answer, an
       expiry, a discharge) and what therapists did about flags, as events in time
       order, with the rules run as of each moment.
    """

    def __init__(self, rng, clinic, therapist, diary, index, person, now):
        self.rng, self.clinic, self.therapist, self.diary, self.index, self.person, self.now = (
            rng, clinic, therapist, diary, index, person, now,
        )
        self.tz = clinic.tzinfo
        self.strategy_rng = random.Random(f"{SEED}:{person.name}:strategies")
        self.events, self.seq = [], 0
        self.invitations = []
        # The first moment the therapist will act on a flag again (ACK_COOL_OFF).
        self.next_ack = None
        self.turn = None
        self.failed_send = False
        self.previous_total = None
        self.said = set()  # the client's comments so far

    def run(self):
        rng, person = self.rng, self.person
        self.slot = self.diary.new_slot(
            rng,
            every=person.every,
            duration=rng.choice([50] * 8 + [60, 45]),
            format=rng.choice([Session.Format.IN_PERSON] * (9 if person.reach == "room" else 6)
                              + [Session.Format.VIDEO] * 3 + [Session.Format.PHONE]),
        )
        visits = self._plan()
        self.n = len(visits)
        self.last_start = visits[-1].start if visits else None
        self.client = self._client(visits)
        self.base = rng.randint(37, 39)
        # A rough session some time in the middle of a steady history: it flags, and clears.
        self.dip_at = (
            rng.randint(QUIET_END + 2, len(visits) - 2)
            if person.story == "steady" and len(visits) > QUIET_END + 4 and rng.random() < 0.6 else None
        )
        self._write(visits)
        window = self.clinic.attendance_window
        for i, visit in enumerate(visits):
            # Logging a session changes what the rules find only through the attendance
            # window, so only while a missed session is in it.
            if any(v.attendance in Session.MISSED for v in visits[max(0, i - window + 1):i + 1]):
                self._push(visit.logged_at, "held", visit)
        if person.outcome == "discharged":
            self._push(self._working_time(visits[-1].start.date() + timedelta(days=rng.randint(3, 10))), "discharge")
        self._replay()

    # --- 1. Planning ----------------------------------------------------------------

    def _plan(self):
        """The client's sessions: their slot every `every` weeks from `began` weeks ago
        until `ended` weeks ago or until now, less holidays, their therapist's leave and
        the odd week away, with the odd reschedule."""
        rng, person, slot, now = self.rng, self.person, self.slot, self.now
        today = now.astimezone(self.tz).date()
        first_monday = today - timedelta(days=today.weekday(), weeks=person.began)
        last_day = today - timedelta(weeks=person.ended)
        # A session belongs to the history once it has ended and its check-in has gone
        # out; later ones are upcoming (`_book_upcoming`).
        latest_start = now - timedelta(minutes=slot.duration + 30, hours=self.clinic.survey_delay_hours)
        leave = self.diary.leave
        starts = []
        for week in range(0, person.began + 1, slot.every):
            monday = first_monday + timedelta(weeks=week)
            day = monday + timedelta(days=slot.weekday)
            weeks_ago = (today - day).days // 7
            if day > last_day or leave[0] <= weeks_ago <= leave[1] or _holiday(day) or rng.random() < 0.04:
                continue
            start = datetime.combine(day, time(slot.hour, slot.minute), tzinfo=self.tz)
            if rng.random() < 0.1:
                # Moved this once: another day that week, and another time.
                moved = datetime.combine(
                    monday + timedelta(days=rng.randrange(5)),
                    time(min(LAST_HOUR, max(FIRST_HOUR, slot.hour + rng.choice([-2, -1, 1, 2]))), slot.minute),
                    tzinfo=self.tz,
                )
                start = moved if self.diary.is_free(moved) and not _holiday(moved.date()) else start
            if not self.diary.is_free(start):
                continue  # another client's rescheduled session took the slot that week
            if start <= latest_start:
                self.diary.take(start)
                starts.append(start)
        visits = []
        for i, start in enumerate(starts):
            fmt = slot.format if rng.random() < 0.85 else rng.choice(list(Session.Format))
            remaining = len(starts) - i
            visits.append(Visit(start, slot.duration, fmt, self._attendance(remaining), remaining))
        return visits

    def _attendance(self, remaining):
        A, rng = Session.Attendance, self.rng
        if self.person.story == "attendance" and remaining <= 5 and remaining % 2 == 0:
            return rng.choice(Session.MISSED)
        if remaining > QUIET_END and rng.random() < 0.08:
            return rng.choice([A.CANCELLED, A.CANCELLED, A.NO_SHOW, A.LATE_CANCEL])
        return A.ATTENDED

    def _client(self, visits):
        rng, person, i = self.rng, self.person, self.index
        modality = rng.choice(["cbt"] * 4 + ["humanistic"] * 3 + ["psychodynamic"] * 2 + ["other"])
        approach = rng.choice({
            "cbt": ["directive", "collaborative", "collaborative"],
            "humanistic": ["supportive", "collaborative"],
            "psychodynamic": ["supportive", "collaborative", "directive"],
        }.get(modality, ["collaborative", "supportive"]))
        slug = "".join(ch for ch in person.name.lower() if ch.isascii() and ch.isalpha())
        email = f"{slug}.{i + 1}@example.org" if "email" in person.reach else ""
        # Fictional numbers: 555-0110 to 555-0139 in New York area codes.
        phone = f"+1{['212', '646', '718', '917', '347'][i % 5]}55501{i + 10:02d}" if "sms" in person.reach else ""
        self.email_until = self.sms_until = None
        if person.change in ("email_opt_out", "sms_stop"):
            # Half way through the history, after a session: the client stopped a channel.
            attended = [v for v in visits if v.attendance == Session.Attendance.ATTENDED]
            self.turn = turn = attended[len(attended) // 2]
            if person.change == "email_opt_out":
                # From an older email's link, before this session's check-in went out.
                self.email_until = turn.end + timedelta(minutes=30)
            else:
                # A STOP reply to this session's text, minutes after it arrived.
                self.sms_until = self._due(turn) + timedelta(minutes=9)
        return Client.objects.create(
            clinic=self.clinic, therapist=self.therapist, display_name=person.name,
            email=email, survey_consent=bool(email), opted_out_at=self.email_until,
            phone=phone, sms_consent=bool(phone), sms_opted_out_at=self.sms_until,
            language=person.language, modality=modality, relationship_approach=approach,
            created_at=visits[0].start - timedelta(days=rng.randint(3, 14)),
        )

    def _client_total(self, visit):
        """The client's total for an attended session, by storyline."""
        story, base, remaining, rng = self.person.story, self.base, visit.remaining, self.rng
        jitter = rng.choice([-1, 0, 0, 1])
        if story == "improving":
            progress = (self.n - remaining) / max(1, self.n - 1)
            return min(40, round(28 + 10 * progress) + jitter)
        if story == "drop" and remaining == 1:
            return base - 7
        if story == "repair":
            if remaining == ACK_AT_REMAINING:
                return base - 8
            return min(40, base + (1 if remaining < ACK_AT_REMAINING else jitter))
        if story == "declining" and remaining <= 4:
            return base - 2 * (5 - remaining)
        if story == "low":
            # Low throughout, and still sliding after the therapist's response.
            return 32 + jitter if remaining > ACK_AT_REMAINING else 31 - (ACK_AT_REMAINING - remaining)
        if story == "discrepancy" and remaining <= 3:
            return 31
        if remaining == self.dip_at:
            return base - rng.randint(4, 6)
        if self.previous_total is not None and abs(self.previous_total - base) <= 1 and rng.random() < 0.5:
            # Ratings are sticky: clients often give the same as last time.
            return self.previous_total
        return max(0, min(40, base + jitter))

    def _therapist_total(self, visit, client_total):
        """Therapists rate a little above their clients (DESIGN.md), can miss a
        rupture, and now and then do not rate at all."""
        rng = self.rng
        if self.person.story == "discrepancy" and visit.remaining <= 3:
            return min(40, client_total + 8)
        rupture = visit.remaining == self.dip_at or (
            self.person.story == "repair" and visit.remaining == ACK_AT_REMAINING
        )
        if rupture and rng.random() < 0.5:
            return min(40, self.base + 1)
        if rng.random() < 0.12:
            return None
        return max(0, min(40, client_total + rng.choice([-1, 0, 1, 1, 2, 2, 3])))

    # --- 2. Writing the sessions ------------------------------------------------------

    def _write(self, visits):
        rng = self.rng
        sessions = Session.objects.bulk_create([
            Session(
                client=self.client, therapist=self.therapist, scheduled_start=visit.start,
                duration_minutes=visit.duration, attendance=visit.attendance, format=visit.format,
                created_at=visit.logged_at,
            )
            for visit in visits
        ])
        notes, ratings = [], []
        for visit, session in zip(visits, sessions):
            visit.session = session
            if visit.attendance != Session.Attendance.ATTENDED:
                continue
            note = SessionNote(session=session, author=self.therapist)
            note.text = rng.choice(NOTES)
            notes.append(note)
            visit.client_total = self.previous_total = self._client_total(visit)
            therapist_total = self._therapist_total(visit, visit.client_total)
            if therapist_total is not None:
                ratings.append(self._checkin(visit, CheckIn.Source.THERAPIST, therapist_total, visit.logged_at))
            self._ask(visit)
        SessionNote.objects.bulk_create(notes)
        CheckIn.objects.bulk_create(ratings)
        SurveyInvitation.objects.bulk_create(self.invitations)

    def _ask(self, visit):
        """How this session's check-in reached the client, and whether they answered."""
        rng, person = self.rng, self.person
        # A storyline's last sessions are answered as the storyline needs.
        critical = person.story not in ("steady", "improving") and visit.remaining <= QUIET_END
        silent = person.story == "no_feedback" and visit.remaining <= 4
        if visit is self.turn and person.change == "email_opt_out":
            # The client unsubscribed before this one went out: the waiting invitation
            # was cancelled, as client_opt_out does.
            self._invitation(visit, status=SurveyInvitation.Status.CANCELLED, due_at=self._due(visit))
            return
        if person.change == "email_failed" and not self.failed_send and visit.remaining <= 12:
            # The mail server turned away every attempt that evening.
            self.failed_send = True
            due = self._due(visit)
            self._invitation(
                visit, status=SurveyInvitation.Status.FAILED, due_at=due, claimed_at=due, claim_id=self._uuid(),
                attempts=self.clinic.max_send_attempts, last_error="SMTP 421 (SMTPConnectError)",
            )
            return
        outbox = self._outbox_channels(visit)
        in_person = visit.format == Session.Format.IN_PERSON
        if not outbox:
            # Only in the room, if the therapist starts it: on their device or the
            # client's phone in person, on the client's phone (typing the short code)
            # on a call. Now and then the client would rather not.
            if in_person:
                self._in_session(visit, rng.choice([Channel.IN_SESSION_DEVICE, Channel.IN_SESSION_PHONE]),
                                 answered=critical or rng.random() > 0.08)
            elif critical or rng.random() < 0.6:
                self._in_session(visit, Channel.IN_SESSION_PHONE, answered=critical or rng.random() > 0.08)
            return
        if in_person and not silent and rng.random() < 0.15:
            channel = rng.choice([Channel.IN_SESSION_PHONE] * 3 + [Channel.IN_SESSION_DEVICE])
            self._in_session(visit, channel, answered=True)
            return
        answered = not silent and (critical or rng.random() > 0.18)
        self._outbox(visit, outbox, answered=answered, must_answer=critical and answered)

    def _outbox_channels(self, visit):
        """The channels the outbox sent this session's check-in on: Client.checkin_channels
        as it was then."""
        due = self._due(visit)
        channels = []
        if self.client.email and (self.email_until is None or due < self.email_until):
            channels.append(Channel.EMAIL)
        if self.client.phone and (self.sms_until is None or due < self.sms_until):
            channels.append(Channel.SMS)
        return channels

    def _due(self, visit):
        return visit.end + timedelta(hours=self.clinic.survey_delay_hours)

    def _invitation(self, visit, **fields):
        fields.setdefault("created_at", visit.logged_at)
        invitation = SurveyInvitation(session=visit.session, client=self.client, token_hash=_digest(), **fields)
        self.invitations.append(invitation)
        return invitation

    def _outbox(self, visit, channels, *, answered, must_answer):
        """A check-in sent by email and/or text, as alliance.checkins.outbox leaves the
        row, then answered on one of them (an event), or left to expire."""
        rng, clinic = self.rng, self.clinic
        due = self._due(visit)
        claimed = due + timedelta(seconds=rng.randint(1, 59))
        sent = claimed + timedelta(seconds=rng.randint(1, 4))
        row = dict(
            status=SurveyInvitation.Status.SENT, due_at=due, claimed_at=claimed, claim_id=self._uuid(), attempts=1,
            sent_at=sent, expires_at=sent + timedelta(days=clinic.expiry_days),
        )
        if Channel.EMAIL in channels:
            row["email_sent_at"] = sent
        if Channel.SMS in channels:
            row.update(
                sms_token_hash=_digest(), sms_sent_at=sent + timedelta(seconds=1),
                sms_message_id=f"FILE{self._uuid()}", sms_status="delivered",
            )
        answered_at = None
        if answered:
            answered_at = sent + rng.choice([
                timedelta(minutes=rng.randint(5, 300)),
                timedelta(hours=rng.randint(12, 30)),
                timedelta(hours=clinic.reminder_after_hours + rng.randint(1, 40)),
            ])
            if answered_at >= self.now:
                # Not yet: still open, unless the storyline needs the answer.
                answered_at = sent + (self.now - sent) / 2 if must_answer else None
        reminder = sent + timedelta(hours=clinic.reminder_after_hours, seconds=rng.randint(5, 60))
        if reminder <= (answered_at or self.now):
            row["reminded_at"] = reminder
            if Channel.EMAIL in channels:
                row["reminder_token_hash"] = _digest()
            if Channel.SMS in channels:
                row["sms_reminder_token_hash"] = _digest()
        invitation = self._invitation(visit, **row)
        if answered_at is not None:
            channel = channels[0] if len(channels) == 1 else rng.choice([Channel.SMS, Channel.EMAIL])
            self._push(answered_at, "answer", (visit, invitation, channel))
        else:
            self._push(row["expires_at"], "expire", invitation)

    def _in_session(self, visit, channel, *, answered):
        """A check-in started in the room near the end of the session, as
        alliance.checkins.in_session leaves the row, then answered there (an event), or
        left to run out."""
        rng = self.rng
        started = visit.logged_at + timedelta(minutes=rng.randint(1, 3))
        expires = started + timedelta(minutes=settings.IN_SESSION_CHECKIN_MINUTES)
        link = dict(
            in_session_token_hash=_digest(), in_session_code_hash=_digest(), in_session_channel=channel,
            in_session_expires_at=expires,
        )
        if self._outbox_channels(visit):
            # Scheduled for the outbox when the session was logged; answered in the
            # room first, so it never went out.
            invitation = self._invitation(
                visit, status=SurveyInvitation.Status.SCHEDULED, due_at=self._due(visit), **link,
            )
        else:
            invitation = self._invitation(
                visit, status=SurveyInvitation.Status.SENT, due_at=started, sent_at=started, expires_at=expires,
                created_at=started, **link,
            )
        if answered:
            self._push(started + timedelta(minutes=rng.randint(1, 5)), "answer", (visit, invitation, channel))
        else:
            self._push(expires, "expire", invitation)

    def _checkin(self, visit, source, total, at, channel=""):
        rng = self.rng
        total = max(0, min(40, total))
        scores = [total // 4] * 4
        for k in range(total - sum(scores)):
            scores[k] += 1
        # A point or two moved between dimensions: people do not rate all four alike.
        for _ in range(rng.randint(0, 2)):
            a, b = rng.sample(range(4), 2)
            if scores[a] > 0 and scores[b] < 10:
                scores[a] -= 1
                scores[b] += 1
        rng.shuffle(scores)
        comment = ""
        if source == CheckIn.Source.CLIENT:
            hard = total < self.clinic.low_total_below
            unsaid = [c for c in COMMENTS[self.person.language]["hard" if hard else "good"] if c not in self.said]
            if unsaid and rng.random() < (0.3 if hard else 0.08):
                comment = rng.choice(unsaid)
                self.said.add(comment)
        return CheckIn(
            session=visit.session, client=self.client, source=source, channel=channel, submitted_at=at,
            trust=scores[0], empathy=scores[1], boundaries=scores[2], collaboration=scores[3], comment=comment,
        )

    def _uuid(self):
        return "%032x" % self.rng.getrandbits(128)

    # --- 3. Replay --------------------------------------------------------------------

    def _push(self, at, kind, data=None):
        if at <= self.now:
            self.seq += 1
            heapq.heappush(self.events, Event(at, self.seq, kind, data))

    def _replay(self):
        """Apply each event in time order and run the app's flag rules as of that
        moment, as the app does when a session is saved, a check-in answered or an
        invitation expires; plan when the therapist acts on each flag raised."""
        while self.events:
            event = heapq.heappop(self.events)
            getattr(self, f"_on_{event.kind}")(event.at, event.data)
            if event.kind == "ack":
                continue  # acting on a flag changes none of the evidence
            raised, _ = flags_recompute_for_client(client=self.client, now=event.at)
            if raised:
                self._plan_ack(raised, event)
        flags_recompute_for_client(client=self.client, now=self.now)

    def _on_held(self, at, visit):
        """The session was logged (written already by `_write`): only the rules run."""

    def _on_answer(self, at, data):
        visit, invitation, channel = data
        SurveyInvitation.objects.filter(pk=invitation.pk).update(
            status=SurveyInvitation.Status.ANSWERED, answered_at=at, answered_channel=channel,
        )
        self._checkin(visit, CheckIn.Source.CLIENT, visit.client_total, at, channel=channel).save()
        if self.person.story in ACK_RESPONSES and visit.remaining == ACK_AT_REMAINING:
            # The storyline's turning point: the therapist acts on whatever is open the
            # next day.
            next_day = self._working_time(at.date() + timedelta(days=1))
            self._push(next_day, "ack", (None, ACK_RESPONSES[self.person.story]))

    def _on_expire(self, at, invitation):
        SurveyInvitation.objects.filter(pk=invitation.pk, status=SurveyInvitation.Status.SENT).update(
            status=SurveyInvitation.Status.EXPIRED
        )

    def _on_discharge(self, at, _):
        Client.objects.filter(pk=self.client.pk).update(status=Client.Status.DISCHARGED, discharged_at=at)

    def _on_ack(self, at, data):
        """The therapist records what they did about flags (ids; None: all open ones),
        as flag_acknowledge would: only on an open flag nobody has acted on yet."""
        flag_ids, response = data
        flags = Flag.objects.filter(client=self.client, acknowledged_at__isnull=True, resolved_at__isnull=True)
        if flag_ids is not None:
            flags = flags.filter(pk__in=flag_ids)
        text = ""
        if response == Flag.Response.OTHER or self.rng.random() < 0.3:
            text = self.rng.choice(RESPONSE_TEXTS[response])
        acting = list(flags)
        if flags.update(acknowledged_at=at, acknowledged_by=self.therapist):
            self.next_ack = max(self.next_ack or at, at + ACK_COOL_OFF)
            self._record_strategies(acting, response, text)

    def _record_strategies(self, flags, response, text):
        """What the therapist ticked on the acknowledge form for each flag, and their
        private note. A generator of its own, so the rest of the history is the same
        whatever is picked here."""
        rng = self.strategy_rng
        rows, notes = [], []
        for flag in flags:
            offered = [o.strategy for o in options_for(flag.kind)]
            main = next((s for s in STRATEGIES_FOR[response] if s in offered), RepairStrategy.OTHER)
            chosen = [main]
            if rng.random() < SECOND_STRATEGY:
                extra = [s for s in offered[:4] if s != main]
                if extra:
                    chosen.append(rng.choice(extra))
            rows += [FlagStrategy(flag=flag, strategy=s) for s in chosen]
            if text or main == RepairStrategy.OTHER:
                notes.append(RepairNote(flag=flag, author=self.therapist, text=text or RESPONSE_TEXTS[Flag.Response.OTHER][0]))
        FlagStrategy.objects.bulk_create(rows)
        RepairNote.objects.bulk_create(notes)

    def _plan_ack(self, raised, event):
        """When the therapist will act on the flags just raised, together: a few days
        later, not within ACK_COOL_OFF of their last response, not yet if that is
        within ACK_NOT_BEFORE of now, and for one time in five not at all."""
        rng, story = self.rng, self.person.story
        if event.kind == "answer" and story in ACK_RESPONSES and event.data[0].remaining == ACK_AT_REMAINING:
            return  # the storyline's own response (_on_answer)
        attendance = [f.pk for f in raised if f.kind == Flag.Kind.ATTENDANCE]
        if story == "attendance" and attendance:
            # Acted on, and still open while the misses stay in the window.
            two_days_on = self._working_time(event.at.date() + timedelta(days=2))
            self._push(two_days_on, "ack", (attendance, Flag.Response.FREQUENCY))
            return
        if rng.random() < 0.2 or (self.person.outcome == "discharged" and rng.random() < 0.5):
            return
        at = event.at + timedelta(days=rng.randint(1, 5))
        if self.next_ack is not None:
            at = max(at, self.next_ack + timedelta(days=rng.randint(0, 4)))
        if at > self.now - ACK_NOT_BEFORE:
            return
        # The most severe flag decides what the therapist did.
        worst = max(raised, key=lambda f: f.severity)
        choices, weights = zip(*RESPONSES_FOR.get(worst.kind, RESPONSES_DEFAULT))
        self.next_ack = at + ACK_COOL_OFF
        self._push(self._working_time(at.date()), "ack", ([f.pk for f in raised], rng.choices(choices, weights)[0]))

    def _working_time(self, day):
        """A time within working hours on `day`, or on the Monday after a weekend day."""
        if day.weekday() >= 5:
            day += timedelta(days=7 - day.weekday())
        at = time(self.rng.randint(FIRST_HOUR, LAST_HOUR), self.rng.randrange(60))
        return datetime.combine(day, at, tzinfo=self.tz)


def _holiday(day):
    """Days the clinic is closed: New Year's Day, Memorial Day, the Fourth of July,
    Labor Day, Thanksgiving and the week between Christmas Eve and New Year."""
    nth_weekday = (day.day - 1) // 7 + 1
    last_week = (day + timedelta(days=7)).month != day.month
    return (
        (day.month, day.day) in ((1, 1), (7, 4))
        or (day.month == 12 and day.day >= 24)
        or (day.month == 5 and day.weekday() == 0 and last_week)
        or (day.month == 9 and day.weekday() == 0 and nth_weekday == 1)
        or (day.month == 11 and day.weekday() == 3 and nth_weekday == 4)
    )
