"""Check-ins by text message, end to end on real services: a Celery worker subprocess
sends through the SMS interface (sms/) to a fake Twilio on loopback
(tests/fakes/twilio.py), which speaks Twilio's Messages API; the sweeps run in this
process, as beat would run them. The same outbox guarantees as email: exactly once under
racing sweeps and workers, at most one duplicate per crash, retries with backoff,
permanent failures kept for the client page."""

import re
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.test import Client as BrowserClient
from django.urls import reverse
from django.utils import timezone

from alliance.checkins import outbox
from alliance.models import CheckIn, SurveyInvitation
from clients.models import Client
from sessions.services import session_log
from tests.alliance.conftest import wait_for
from tests.alliance.outbox_load import due_invitations, racing_sweeps, status_counts, tally
from tests.factories import ClientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ANSWERS = {"trust": "7", "empathy": "8", "boundaries": "9", "collaboration": "6", "comment": ""}
SITE = "http://127.0.0.1:8000"


def _link(message):
    match = re.search(re.escape(SITE) + r"(/s/[A-Za-z0-9_-]+/)", message.body)
    return match.group(1) if match else None


def _held_session(client):
    """An attended session that ended hours ago, logged as a therapist logs it."""
    return session_log(
        therapist=client.therapist, client=client, scheduled_start=timezone.now() - timedelta(hours=3),
        duration_minutes=50, attendance="attended", format="video", note="", rating=None,
    )


def _texting_worker(celery_worker, smtp_server, fake, **kwargs):
    return celery_worker(smtp_server(), env={"SMS_URL": fake.url, **kwargs.pop("env", {})}, **kwargs)


def test_a_client_with_only_a_phone_number_gets_a_text_and_answers_it(smtp_server, celery_worker, fake_twilio):
    _texting_worker(celery_worker, smtp_server, fake_twilio)
    client = ClientFactory(email="", survey_consent=False, phone="+442079460958", sms_consent=True,
                           display_name="Robin Quince")
    session = session_log(
        therapist=client.therapist, client=client, scheduled_start=timezone.now() - timedelta(hours=3),
        duration_minutes=50, attendance="attended", format="in_person", note="Spoke about the divorce.",
        rating=None,
    )
    invitation = SurveyInvitation.objects.get(session=session)
    assert outbox.invitations_dispatch_due() == [invitation.id]
    wait_for(lambda: len(fake_twilio.received()) == 1, what="one text")
    wait_for(lambda: SurveyInvitation.objects.get(id=invitation.id).status == "sent", what="status sent")
    [message] = fake_twilio.received()
    assert message.to == "+442079460958"
    assert client.clinic.name in message.body and "STOP" in message.body
    for secret in ("divorce", "Robin", "Quince", client.therapist.full_name):
        assert secret not in message.body
    assert message.status_callback == SITE + reverse("sms_status")
    invitation.refresh_from_db()
    assert invitation.sms_message_id == message.sid and invitation.sms_sent_at and invitation.email_sent_at is None

    browser = BrowserClient()
    path = _link(message)
    page = browser.get(path)
    assert page.status_code == 200
    assert b"unsubscribe" not in page.content  # a text is stopped by STOP, not a link
    assert browser.post(path, ANSWERS).status_code == 302
    checkin = CheckIn.objects.get(session=session, source="client")
    assert (checkin.channel, checkin.total) == ("sms", 30)
    assert SurveyInvitation.objects.get(id=invitation.id).answered_channel == "sms"
    assert browser.post(path, ANSWERS).status_code == 410


def test_email_and_text_both_go_and_one_answer_closes_both(smtp_server, celery_worker, fake_twilio):
    smtp = smtp_server()
    celery_worker(smtp, env={"SMS_URL": fake_twilio.url})
    client = ClientFactory(phone="+14155550100", sms_consent=True)
    session = _held_session(client)
    invitation = SurveyInvitation.objects.get(session=session)
    outbox.invitations_dispatch_due()
    smtp.wait_for_count(1)
    wait_for(lambda: len(fake_twilio.received()) == 1, what="one text")
    wait_for(lambda: SurveyInvitation.objects.get(id=invitation.id).status == "sent", what="status sent")
    [text] = fake_twilio.received()
    browser = BrowserClient()
    email_link = re.search(r"/s/[A-Za-z0-9_-]+/(?=\s)", smtp.received()[0].get_body(("plain",)).get_content()).group(0)
    text_link = _link(text)
    assert email_link != text_link
    assert browser.get(email_link).status_code == 200 and browser.get(text_link).status_code == 200
    assert browser.post(text_link, ANSWERS).status_code == 302
    assert browser.get(email_link).status_code == 410  # the email's link is closed too
    assert CheckIn.objects.get(session=session, source="client").channel == "sms"


def test_a_provider_that_fails_twice_gets_exactly_one_text(smtp_server, celery_worker, fake_twilio):
    _texting_worker(celery_worker, smtp_server, fake_twilio)
    fake_twilio.fail_next(1, status=500)
    fake_twilio.fail_next(1, status=429)
    client = ClientFactory(email="", phone="+14155550101", sms_consent=True)
    session = _held_session(client)
    invitation = SurveyInvitation.objects.get(session=session)
    outbox.invitations_dispatch_due()
    wait_for(lambda: SurveyInvitation.objects.get(id=invitation.id).status == "sent", timeout=45, what="sent")
    invitation.refresh_from_db()
    assert invitation.attempts == 3
    assert fake_twilio.refused == [500, 429]
    time.sleep(1.5)
    assert len(fake_twilio.received()) == 1


def test_an_invalid_number_fails_for_good_and_shows_on_the_client_page(smtp_server, celery_worker, fake_twilio, client):
    """A number the provider refuses (Twilio 21211) is not retried; the client page says
    why, in the provider's code only."""
    _texting_worker(celery_worker, smtp_server, fake_twilio)
    patient = ClientFactory(email="", phone="+14155550102", sms_consent=True)
    Client.objects.filter(pk=patient.pk).update(phone="+1415")  # stored before validation existed
    patient.refresh_from_db()
    session = _held_session(patient)
    invitation = SurveyInvitation.objects.get(session=session)
    outbox.invitations_dispatch_due()
    wait_for(lambda: SurveyInvitation.objects.get(id=invitation.id).status == "failed", what="failed")
    invitation.refresh_from_db()
    assert invitation.attempts == 1
    assert invitation.last_error == "SMS: Twilio 21211"
    assert fake_twilio.received() == []

    from tests.conftest import verified_session_login

    verified_session_login(client, patient.therapist)
    page = client.get(reverse("client_detail", args=[patient.pk])).content.decode()
    assert "Failed" in page and "SMS: Twilio 21211" in page


def test_the_reminder_goes_by_text_too(smtp_server, celery_worker, fake_twilio):
    _texting_worker(celery_worker, smtp_server, fake_twilio)
    client = ClientFactory(email="", phone="+14155550103", sms_consent=True)
    session = _held_session(client)
    invitation = SurveyInvitation.objects.get(session=session)
    outbox.invitations_dispatch_due()
    wait_for(lambda: SurveyInvitation.objects.get(id=invitation.id).status == "sent", what="sent")
    SurveyInvitation.objects.filter(id=invitation.id).update(sent_at=timezone.now() - timedelta(hours=49))
    assert outbox.invitations_remind_due() == [invitation.id]
    wait_for(lambda: len(fake_twilio.received()) == 2, what="the reminder text")
    first, reminder = fake_twilio.received()
    assert "reminder" in reminder.body and _link(first) != _link(reminder)
    browser = BrowserClient()
    assert browser.get(_link(first)).status_code == 200  # the first link still works
    assert browser.post(_link(reminder), ANSWERS).status_code == 302
    time.sleep(1)
    assert len(fake_twilio.received()) == 2


# --- Races and crashes ------------------------------------------------------------------


def test_two_sweeps_and_two_workers_text_every_client_exactly_once(smtp_server, celery_worker, fake_twilio):
    smtp = smtp_server()
    celery_worker(smtp, name="a", env={"SMS_URL": fake_twilio.url})
    celery_worker(smtp, name="b", env={"SMS_URL": fake_twilio.url})
    expected = due_invitations(200, by="sms")
    started = time.monotonic()
    results = racing_sweeps(2)
    results.append(outbox.invitations_dispatch_due())
    claimed = [i for r in results for i in r]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    wait_for(lambda: status_counts().get("sent") == 200, what="200 sent")
    time.sleep(1.5)
    lost, duplicates, _ = tally([m.to for m in fake_twilio.received()], expected)
    print(f"\nsms race: claimed per sweep={[len(r) for r in results]} texts={len(fake_twilio.received())} "
          f"lost={lost} duplicates={duplicates} in {time.monotonic() - started:.1f}s")
    assert (lost, duplicates, len(fake_twilio.received())) == (0, 0, 200)


def test_a_worker_killed_mid_batch_loses_no_text(smtp_server, celery_worker, fake_twilio):
    smtp = smtp_server()
    first = celery_worker(smtp, name="doomed", env={"SMS_URL": fake_twilio.url})
    expected = due_invitations(200, by="sms")
    started = time.monotonic()
    outbox.invitations_dispatch_due()
    # Counted by each message's own sent time, not the row's status (which a send task
    # sets for its whole batch at the end), so the kill lands inside a batch.
    wait_for(
        lambda: SurveyInvitation.objects.filter(sms_sent_at__isnull=False).count() >= 40,
        interval=0.05, what="the batch to get going",
    )
    first.kill()
    time.sleep(0.5)
    at_kill = len(fake_twilio.received())
    counts_at_kill = status_counts()
    # Texts the provider had accepted whose "sent" the dead worker never committed: the
    # only ones that can go twice (alliance/checkins/outbox.py).
    unrecorded = at_kill - SurveyInvitation.objects.filter(sms_sent_at__isnull=False).count()
    celery_worker(smtp, name="phoenix", env={"SMS_URL": fake_twilio.url})

    def all_sent():
        outbox.invitations_dispatch_due()
        close_old_connections()
        return status_counts().get("sent") == 200

    wait_for(all_sent, interval=2, what="every invitation sent after the crash")
    time.sleep(1.5)
    lost, duplicates, _ = tally([m.to for m in fake_twilio.received()], expected)
    print(f"\nsms crash: texts at kill={at_kill} statuses at kill={dict(counts_at_kill)} "
          f"accepted-but-unrecorded at kill={unrecorded} texts={len(fake_twilio.received())} "
          f"lost={lost} duplicates={duplicates} in {time.monotonic() - started:.1f}s")
    assert lost == 0
    assert duplicates == unrecorded <= 2
