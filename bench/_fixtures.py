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

