"""What staff see is private: never cached, and dated in their clinic's time zone."""

from datetime import datetime, timezone as dt_timezone

import pytest
from django.urls import reverse

from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_forbids_caching_any_page_a_logged_in_user_sees(client, login, alice, alice_client):
    login(client, alice)
    for url in (reverse("caseload"), reverse("client_detail", args=[alice_client.pk])):
        cache_control = client.get(url)["Cache-Control"]
        assert "no-store" in cache_control and "private" in cache_control


def test_it_shows_times_in_the_clinics_time_zone(client, login, clinic, carol):
    clinic.timezone = "America/Los_Angeles"
    clinic.save()
    # 04:00 UTC on 11 January is 20:00 on 10 January in Los Angeles.
    AuditEvent.objects.create(
        clinic=clinic, actor=carol, action="client.view", object_type="client", object_id="1",
        at=datetime(2026, 1, 11, 4, 0, tzinfo=dt_timezone.utc),
    )
    login(client, carol)
    html = client.get(reverse("audit_list"), {"date_from": "2026-01-10", "date_to": "2026-01-10"}).content.decode()
    assert "2026-01-10 20:00:00" in html


def test_it_keeps_messages_that_name_clients_out_of_cookies(client, login, alice):
    login(client, alice)
    response = client.post(reverse("client_new"), {
        "display_name": "Maria Example", "language": "en", "modality": "cbt",
        "relationship_approach": "collaborative",
    })
    assert response.status_code == 302
    assert "messages" not in response.cookies
    assert "Maria Example" in client.get(response.url).content.decode()
