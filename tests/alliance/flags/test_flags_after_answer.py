"""A client's answer raises its flag through a real Celery worker and beat, after the
answer's request has returned (the answer queues nothing; beat's sweep finds its mark):
the therapist sees it within seconds."""

import time

import pytest
from django.test import Client as BrowserClient

from alliance.models import CheckIn, Flag
from tests.alliance.conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LOW = {"trust": "2", "empathy": "3", "boundaries": "4", "collaboration": "2", "comment": ""}


def test_the_therapist_sees_the_flag_within_five_seconds_of_the_answer(
    sent_invitation, smtp_server, celery_worker, client, login, alice
):
    invitation, token = sent_invitation
    celery_worker(smtp_server(), beat=True)
    login(client, alice)
    assert "Low alliance" not in client.get("/attention/").content.decode()

    answered = time.monotonic()
    assert BrowserClient().post(f"/s/{token}/", LOW).status_code == 302
    wait_for(lambda: "Low alliance" in client.get("/attention/").content.decode(), timeout=5,
             what="the flag on the therapist's needs-attention page")
    seconds = time.monotonic() - answered
    print(f"flag visible {seconds:.2f} s after the answer")
    assert Flag.objects.filter(client=invitation.client, kind="low_alliance", resolved_at__isnull=True).count() == 1
    wait_for(lambda: not CheckIn.objects.get(session=invitation.session_id, source="client").flags_pending,
             timeout=5, what="the answer's mark cleared")
