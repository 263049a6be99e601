"""Load for the outbox's race and crash tests, by email (tests/alliance/checkins/
test_outbox_worker.py) and by text (test_sms_outbox.py): many invitations due at once,
sweeps that race, and a tally of what each recipient got."""

import threading
from collections import Counter
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from alliance.checkins import outbox
from alliance.checkins.invitations import new_token
from alliance.models import SurveyInvitation
from clients.models import Client
from sessions.models import Session
from tests.factories import UserFactory


def status_counts():
    return Counter(SurveyInvitation.objects.values_list("status", flat=True))


def due_invitations(n, *, by="email"):
    """n invitations due now, one client each, reachable `by` email or text only, in
    three bulk inserts. Returns the recipients (addresses or numbers)."""
    therapist = UserFactory()
    if by == "email":
        reach = [dict(display_name=f"C{i}", email=f"race{i}@example.org", survey_consent=True) for i in range(n)]
    else:
        reach = [dict(display_name=f"T{i}", phone=f"+1415556{i:04d}", sms_consent=True) for i in range(n)]
    clients = Client.objects.bulk_create(
        [
            Client(clinic=therapist.clinic, therapist=therapist, modality="cbt", relationship_approach="collaborative",
                   **fields)
            for fields in reach
        ]
    )
    start = timezone.now() - timedelta(hours=3)
    sessions = Session.objects.bulk_create([Session(client=c, therapist=therapist, scheduled_start=start) for c in clients])
    SurveyInvitation.objects.bulk_create(
        [SurveyInvitation(session=s, client=s.client, token_hash=new_token()[1], due_at=timezone.now()) for s in sessions]
    )
    return {c.email if by == "email" else str(c.phone) for c in clients}


def racing_sweeps(n_sweeps=2):
    """n sweeps started at the same instant, each claiming less than the whole batch, so
    that on PostgreSQL the second skips the rows the first has locked and takes the rest.
    Returns the ids each claimed."""
    results, barrier = [], threading.Barrier(n_sweeps)

    def sweep():
        try:
            barrier.wait()
            results.append(outbox.invitations_dispatch_due(limit=120))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(n_sweeps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def tally(recipients, expected):
    """(lost, duplicated, count per recipient) of the messages received, against the
    recipients that should each have got exactly one."""
    got = Counter(recipients)
    lost = len(expected - set(got))
    duplicates = sum(count - 1 for count in got.values() if count > 1)
    return lost, duplicates, got
