"""The migration that adds "booked": sessions already entered for the future (which the
old form made "attended", ratings and all) become booked, their waiting check-in is
cancelled and the rating of a session nobody has held is removed; the past is untouched."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

def migrate(sessions_at):
    """Every app at its latest migration, therapy_sessions at `sessions_at`; the models
    as they were then."""
    executor = MigrationExecutor(connection)
    targets = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "therapy_sessions"]
    targets.append(("therapy_sessions", sessions_at))
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


BEFORE, AFTER = "0002_session_form_token", "0003_session_booked"


@pytest.fixture(autouse=True)
def _back_to_the_latest_schema():
    """Later migrations of therapy_sessions exist: every test after this one needs the
    whole schema, so leave every app at its latest migration, pass or fail."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_future_sessions_become_booked_and_lose_what_only_a_held_session_has():
    apps = migrate(BEFORE)
    Clinic, User, Client = (apps.get_model(*m) for m in [("accounts", "Clinic"), ("accounts", "User"), ("clients", "Client")])
    Session, CheckIn, Invitation = (
        apps.get_model(*m) for m in [("therapy_sessions", "Session"), ("alliance", "CheckIn"), ("alliance", "SurveyInvitation")]
    )
    clinic = Clinic.objects.create(name="Old Clinic")
    therapist = User.objects.create(email="t@example.com", full_name="T", clinic=clinic)
    client = Client.objects.create(clinic=clinic, therapist=therapist, display_name="A.B.", modality="cbt",
                                   relationship_approach="supportive", email="a@example.org", survey_consent=True)
    now = timezone.now()

    def session(days, attendance):
        s = Session.objects.create(client=client, therapist=therapist, scheduled_start=now + timedelta(days=days),
                                   attendance=attendance)
        CheckIn.objects.create(session=s, client=client, source="therapist", trust=8, empathy=8, boundaries=8,
                               collaboration=8)
        Invitation.objects.create(session=s, client=client, token_hash=f"{days}{attendance}".ljust(64, "0"),
                                  due_at=s.scheduled_start + timedelta(hours=2))
        return s.pk

    ahead, ahead_cancelled, held = session(7, "attended"), session(3, "cancelled"), session(-2, "attended")

    apps = migrate(AFTER)
    Session, CheckIn, Invitation = (
        apps.get_model(*m) for m in [("therapy_sessions", "Session"), ("alliance", "CheckIn"), ("alliance", "SurveyInvitation")]
    )
    assert Session.objects.get(pk=ahead).attendance == "booked"
    assert Invitation.objects.get(session_id=ahead).status == "cancelled"
    assert not CheckIn.objects.filter(session_id=ahead).exists()
    # A session cancelled in advance, and one already held, stay as they were.
    assert Session.objects.get(pk=ahead_cancelled).attendance == "cancelled"
    assert Session.objects.get(pk=held).attendance == "attended"
    assert Invitation.objects.get(session_id=held).status == "scheduled"
    assert CheckIn.objects.filter(session_id=held).count() == 1

    # And back: a booking ahead is attended again, as the old app would have had it.
    apps = migrate(BEFORE)
    assert apps.get_model("therapy_sessions", "Session").objects.get(pk=ahead).attendance == "attended"
    migrate(AFTER)
