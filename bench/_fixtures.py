"""The fixture bench/throughput.py and bench/dispatch.py both start from: "Bench Clinic",
its therapist, and consenting clients with distinct addresses, each seen in person.
Call after `_procs.django_setup`."""


def clinic_with_clients(count, *, spanish_every=None):
    """The clinic's therapist and `count` consenting CBT clients, client{i:05d}@bench.invalid;
    with `spanish_every`, every that many-th client (from the first) reads Spanish."""
    from accounts.models import Clinic, User
    from clients.models import Client

    clinic = Clinic.objects.create(name="Bench Clinic")
    therapist = User.objects.create_user(
        email="therapist@bench.invalid", password=None, full_name="Bench Therapist", clinic=clinic,
        role=User.Role.THERAPIST,
    )
    people = Client.objects.bulk_create(
        (
            Client(
                clinic=clinic, therapist=therapist, display_name=f"C{i:05d}", email=f"client{i:05d}@bench.invalid",
                survey_consent=True, language="es" if spanish_every and i % spanish_every == 0 else "en",
                modality=Client.Modality.CBT, relationship_approach=Client.Approach.COLLABORATIVE,
            )
            for i in range(count)
        ),
        batch_size=1000,
    )
    return therapist, people


def attended_session(client, therapist, start):
    """An unsaved 50-minute in-person session the client attended."""
    from sessions.models import Session

    return Session(
        client=client, therapist=therapist, scheduled_start=start, duration_minutes=50,
        attendance=Session.Attendance.ATTENDED, format=Session.Format.IN_PERSON,
    )



def client_with_history(therapist, sessions, *, rng_seed=0):
    """A client of `therapist` with `sessions` weekly attended sessions ending yesterday,
    each rated by both sides and every third with a comment: the client page's history
    (bench/pages.py). Made once per database, found by name after that."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    from alliance.models import CheckIn
    from clients.models import Client

    name = f"History {sessions}"
    existing = Client.objects.filter(therapist=therapist, display_name=name).first()
    if existing is not None:
        return existing
    rng = random.Random(rng_seed + sessions)
    client = Client.objects.create(
        clinic=therapist.clinic, therapist=therapist, display_name=name, email=f"history{sessions}@bench.invalid",
        survey_consent=True, modality=Client.Modality.CBT, relationship_approach=Client.Approach.COLLABORATIVE,
    )
    now = timezone.now()
    from sessions.models import Session

    held = Session.objects.bulk_create(
        attended_session(client, therapist, now - timedelta(days=1 + 7 * (sessions - 1 - i))) for i in range(sessions)
    )
    CheckIn.objects.bulk_create(
        CheckIn(
            session=s, client=client, source=source, submitted_at=s.scheduled_start + timedelta(hours=2),
            comment="Felt heard today." if source == "client" and i % 3 == 0 else "",
            **{d: rng.randint(7, 10) for d in ("trust", "empathy", "boundaries", "collaboration")},
        )
        for i, s in enumerate(held) for source in ("client", "therapist")
    )
    return client
