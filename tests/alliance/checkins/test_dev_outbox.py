"""The development outbox page lists the emails the file backend wrote."""

import pytest
from django.urls import reverse
from django.test import override_settings

from tests.alliance.conftest import log_session, send_inline

pytestmark = pytest.mark.django_db


def test_it_lists_emails_newest_first_with_their_links(client, login, tmp_path, alice, alice_client):
    login(client, alice)
    other = type(alice_client).objects.create(
        clinic=alice.clinic, therapist=alice, display_name="X", email="second@example.org", survey_consent=True,
        modality="cbt", relationship_approach="collaborative",
    )
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(tmp_path)
    ):
        for c in (alice_client, other):
            _, invitation = log_session(client=c)
            send_inline(invitation)
        response = client.get("/dev/outbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("second@example.org") < html.index(alice_client.email)
    assert html.count("A one-minute check-in from Harbour Clinic") == 2
    assert html.count('href="http://127.0.0.1:8000/s/') == 4  # check-in and unsubscribe, twice


def test_it_is_404_when_the_dev_outbox_is_off(client, login, alice):
    login(client, alice)
    with override_settings(RAPPORT_DEV_OUTBOX=False):
        assert client.get("/dev/outbox/").status_code == 404


def test_the_nav_links_to_it_only_when_mounted(client, login, alice):
    login(client, alice)
    assert "Outbox (dev)" in client.get("/", follow=True).content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in_and_sees_no_link(client, alice_client):
    log_session(client=alice_client)
    response = client.get("/dev/outbox/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_it_names_the_folder_relative_to_the_project(client, login, alice):
    from django.conf import settings

    login(client, alice)
    folder = settings.BASE_DIR / "var" / "outbox"
    with override_settings(EMAIL_FILE_PATH=str(folder)):
        html = client.get("/dev/outbox/").content.decode()
    assert "<code>var/outbox</code>" in html
    assert str(settings.BASE_DIR) not in html


def test_it_lists_text_messages_beside_emails(client, login, alice, settings, tmp_path):
    """Under `make run` texts go to files (sms/backends/file.py); the outbox shows them
    with their link, so the client's side can be played without a phone."""
    from sms import sms_send

    settings.EMAIL_FILE_PATH = str(tmp_path)
    settings.SMS_URL = "file://"
    message_id = sms_send("+14155550123", "Harbour Clinic: a check-in http://127.0.0.1:8000/s/abc123/ Reply STOP")
    assert message_id.startswith("FILE")
    login(client, alice)
    page = client.get(reverse("dev_outbox")).content.decode()
    assert "Text message" in page and "+14155550123" in page
    assert 'href="http://127.0.0.1:8000/s/abc123/"' in page
