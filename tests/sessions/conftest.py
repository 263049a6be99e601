from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone


@pytest.fixture
def session_form(client):
    """Open the form page (which issues a one-time token) and return a valid POST body
    for an attended session yesterday, with a note and the therapist's rating."""

    def make(url, **overrides):
        page = client.get(url)
        assert page.status_code == 200
        when = timezone.localtime(timezone.now() - timedelta(days=1))
        data = {
            "form_token": page.context["form"]["form_token"].value(),
            "date": when.strftime("%Y-%m-%d"),
            "start_time": "10:00",
            "duration_minutes": "50",
            "attendance": "attended",
            "format": "in_person",
            "note": "Talked about the move; felt rushed at the end.",
            "trust": "8",
            "empathy": "9",
            "boundaries": "9",
            "collaboration": "7",
        }
        data.update(overrides)
        return data

    return make


@pytest.fixture
def new_session_url(alice_client):
    return reverse("session_new", args=[alice_client.pk])
