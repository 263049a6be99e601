"""Load the demo clinic used by `make run`. Idempotent: if the demo clinic exists,
nothing changes. Deterministic: a fixed random seed gives the same histories each time.

Every kind of flag appears at least once: each storyline is built so its rule fires at
the end of the history (see STORIES), and flags are computed by the real rules
(alliance.flags.rules) once each history is written. Two storylines also have a flag raised
six weeks ago that the therapist acknowledged, so repair tracking has something to
show: "repair" clients recovered, "low" clients have not.
"""

import hashlib
import random
import secrets
from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Clinic, User
from alliance.flags.services import flag_acknowledge
from alliance.flags.rules import flags_recompute_for_client
from alliance.models import CheckIn, Flag, SurveyInvitation
from clients.models import Client
from sessions.models import Session, SessionNote

DEMO_CLINIC = "Riverside Counselling (demo)"
DEMO_PASSWORD = "rapport-demo-2026"
ADMIN_EMAIL = "admin@demo.rapport.test"
THERAPISTS = [
    ("ana@demo.rapport.test", "Ana Ortega"),
    ("ben@demo.rapport.test", "Ben Okafor"),
    ("chloe@demo.rapport.test", "Chloe Martin"),
]
CLIENT_NAMES = [
    "A.B.", "C.D.", "E.F.", "G.H.", "J.K.", "L.M.", "N.P.", "Q.R.", "S.T.", "U.V.",
    "Maya", "Liam", "Sofía", "Noah", "Aisha", "Mateo", "Priya", "Owen", "Zara", "Luca",
    "Ines", "Theo", "Hana", "Felix", "Rosa", "Kai", "Nadia", "Elias", "Yara", "Jonas",
]

# Each client follows one storyline; the index picks it. With the default thresholds:
# drop → a fall of 7 at the last session (drop, low alliance); declining → four falling
# totals (declining trend, low alliance); discrepancy → therapist 8 above the client;
# no_feedback → the last invitations expire; attendance → 2 missed of the last 5;
# low → a total around 32, sliding after an acknowledged flag six weeks ago (repair:
# "not yet"); repair → a dip six weeks ago, acknowledged, then recovery ("recovered").
STORIES = ["steady", "repair", "steady", "improving", "drop", "declining", "discrepancy", "no_feedback", "attendance", "low"]
# What a session in the past can have been (never still booked), in the order the demo's
# random choices were first made from.
RECORDED = [
    Session.Attendance.ATTENDED, Session.Attendance.NO_SHOW, Session.Attendance.LATE_CANCEL,
    Session.Attendance.CANCELLED,
]
# Weeks before the end when the "repair" and "low" clients' therapists acted on a flag.
ACK_AT_REMAINING = 6
ACK_RESPONSES = {"repair": Flag.Response.DISCUSSED, "low": Flag.Response.ADJUSTED}


class Command(BaseCommand):
    help = "Create the demo clinic, staff, clients and six months of sessions (idempotent)."

    def handle(self, *args, **options):
        if Clinic.objects.filter(name=DEMO_CLINIC).exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        with transaction.atomic():
            self._create()
        self.stdout.write(self.style.SUCCESS("Demo data loaded."))

    def _create(self):
        rng = random.Random(20261128)
        now = timezone.now()
        clinic = Clinic.objects.create(name=DEMO_CLINIC, timezone="Europe/London")
        User.objects.create_user(ADMIN_EMAIL, DEMO_PASSWORD, full_name="Dana Admin", role="clinic_admin", clinic=clinic)
        therapists = [
            User.objects.create_user(email, DEMO_PASSWORD, full_name=name, role="therapist", clinic=clinic)
            for email, name in THERAPISTS
        ]
        modalities = [c for c, _ in Client.Modality.choices]
        approaches = [c for c, _ in Client.Approach.choices]
        for i, name in enumerate(CLIENT_NAMES):
            therapist = therapists[i % len(therapists)]
            story = STORIES[i % len(STORIES)]
            client = Client.objects.create(
                clinic=clinic,
                therapist=therapist,
                display_name=name,
                email=f"client{i + 1}@example.org" if story != "no_feedback" or i % 2 else "",
                survey_consent=True,
                language="es" if name in ("Sofía", "Mateo", "Rosa") else "en",
                modality=modalities[i % len(modalities)],
                relationship_approach=approaches[(i // 2) % len(approaches)],
                created_at=now - timedelta(days=190),
            )
            next_start = self._history(rng, clinic, client, therapist, story, now)
            self._book(client, therapist, next_start, now, needs_attendance=i == 0)
            raised, _ = flags_recompute_for_client(client=client, now=now)
            for flag in raised:
                # As if each flag had been raised when its evidence arrived, the day
                # after the session, not when the demo was loaded.
                if flag.session_id:
                    at = min(now, Session.objects.get(pk=flag.session_id).scheduled_start + timedelta(days=1))
                    Flag.objects.filter(pk=flag.pk).update(raised_at=at)
            if story == "attendance" and i < len(STORIES):
                # One flag acknowledged today that stays open while the condition
                # holds: "needs attention" lists it as acknowledged, still open.
                flag = Flag.objects.get(client=client, kind=Flag.Kind.ATTENDANCE, resolved_at__isnull=True)
                flag_acknowledge(flag=flag, by=therapist, response=Flag.Response.FREQUENCY)

    def _history(self, rng, clinic, client, therapist, story, now):
        weeks = 26
        start_day = (now - timedelta(weeks=weeks)).date()
        hour = 9 + rng.randrange(8)
        # At or above the default low-alliance threshold (36), so only storylines flag.
        base = rng.randint(37, 39)
        for week in range(weeks):
            day = start_day + timedelta(weeks=week)
            start = timezone.make_aware(datetime.combine(day, time(hour, 0)), clinic.tzinfo)
            if start > now - timedelta(hours=3):
                # The next one in the client's weekly rhythm: booked by _book.
                return start
            remaining = weeks - week
            attendance = Session.Attendance.ATTENDED
            if story == "attendance" and remaining <= 5 and remaining % 2 == 0:
                attendance = rng.choice([Session.Attendance.NO_SHOW, Session.Attendance.LATE_CANCEL])
            elif remaining > ACK_AT_REMAINING + 1 and rng.random() < 0.05:
                # Random misses only early on, so the storylines' endings stay intact.
                attendance = rng.choice(RECORDED)
            session = Session.objects.create(
                client=client, therapist=therapist, scheduled_start=start, duration_minutes=50,
                attendance=attendance, format=rng.choice(list(Session.Format)), created_at=start,
            )
            if attendance != Session.Attendance.ATTENDED:
                continue
            note = SessionNote(session=session, author=therapist)
            note.text = f"Demo note for week {week + 1}: worked on goals; plan for next week."
            note.save()

            client_total = self._client_total(story, base, remaining, rng)
            therapist_total = min(40, client_total + (8 if story == "discrepancy" and remaining <= 3 else rng.randint(0, 3)))
            self._checkin(session, client, "therapist", therapist_total, rng, start + timedelta(minutes=55))

            ended = start + timedelta(minutes=50)
            token_hash = hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest()
            sent = ended + timedelta(hours=clinic.survey_delay_hours)
            expires = sent + timedelta(days=clinic.expiry_days)
            unanswered = (story == "no_feedback" and remaining <= 3) or (
                story not in ACK_RESPONSES and rng.random() < 0.12
            )
            if not client.email:
                continue
            if unanswered:
                status = SurveyInvitation.Status.EXPIRED if expires < now else SurveyInvitation.Status.SENT
                SurveyInvitation.objects.create(
                    session=session, client=client, token_hash=token_hash, status=status, due_at=sent,
                    claimed_at=sent, sent_at=sent, reminded_at=sent + timedelta(hours=48), expires_at=expires,
                    attempts=1, created_at=ended,
                )
                continue
            answered = sent + timedelta(hours=rng.randint(1, 30))
            SurveyInvitation.objects.create(
                session=session, client=client, token_hash=token_hash, status=SurveyInvitation.Status.ANSWERED,
                due_at=sent, claimed_at=sent, sent_at=sent, opened_at=answered, answered_at=answered,
                expires_at=expires, attempts=1, created_at=ended,
            )
            self._checkin(session, client, "client", client_total, rng, answered)
            if story in ACK_RESPONSES and remaining == ACK_AT_REMAINING:
                self._acknowledge(client, therapist, ACK_RESPONSES[story], answered)
        return timezone.make_aware(datetime.combine(start_day + timedelta(weeks=weeks), time(hour, 0)), clinic.tzinfo)

    @staticmethod
    def _book(client, therapist, next_start, now, *, needs_attendance):
        """The next session in the diary, booked (a week on if the slot is under way).
        One client also has a booked session from yesterday that nobody updated, so the
        "needs attendance recorded" prompt has something to show."""
        while next_start <= now:
            next_start += timedelta(weeks=1)
        Session.objects.create(
            client=client, therapist=therapist, scheduled_start=next_start, duration_minutes=50,
            attendance=Session.Attendance.BOOKED, created_at=now,
        )
        if needs_attendance:
            Session.objects.create(
                client=client, therapist=therapist, scheduled_start=now - timedelta(days=1), duration_minutes=50,
                attendance=Session.Attendance.BOOKED, created_at=now - timedelta(days=8),
            )

    @staticmethod
    def _acknowledge(client, therapist, response, answered):
        """The therapist saw the flags the day after the check-in and acted on them."""
        flags_recompute_for_client(client=client, now=answered)
        Flag.objects.filter(client=client, resolved_at__isnull=True).update(
            acknowledged_at=answered + timedelta(days=1), acknowledged_by=therapist, response=response,
        )

    @staticmethod
    def _client_total(story, base, remaining, rng):
        jitter = rng.choice([-1, 0, 0, 1])
        if story == "improving":
            return min(40, 28 + (26 - remaining) // 2 + jitter)
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
        return max(0, min(40, base + jitter))

    @staticmethod
    def _checkin(session, client, source, total, rng, at):
        total = max(0, min(40, total))
        scores = [total // 4] * 4
        for k in range(total - sum(scores)):
            scores[k] += 1
        rng.shuffle(scores)
        CheckIn.objects.create(
            session=session, client=client, source=source, submitted_at=at,
            trust=scores[0], empathy=scores[1], boundaries=scores[2], collaboration=scores[3],
            comment="Felt good to talk it through." if source == "client" and rng.random() < 0.15 else "",
        )
