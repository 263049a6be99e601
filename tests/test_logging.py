"""A check-in token is a client's only key: it must not reach the logs, though Django
logs the path of every refused request ("Gone: /s/<token>/")."""

import io
import logging

import pytest
from django.test import Client

from config.log_filters import RedactCheckinTokens

TOKEN = "Zq3vY8kLmN2pR5sT7uW9xA1bC4dE6fG"


@pytest.fixture
def console():
    """What the configured console handler writes, captured."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactCheckinTokens) for f in h.filters))
    stream, handler.stream = handler.stream, io.StringIO()
    yield handler.stream
    handler.stream = stream


@pytest.mark.django_db
def test_a_check_in_link_is_logged_without_its_token(console):
    # The survey views log their refusals by name (alliance/checkins/views.py); a path
    # no survey view matches (a mangled link) is logged by Django itself, with the path.
    assert Client().get(f"/s/{TOKEN}/").status_code == 410
    assert Client().get(f"/s/{TOKEN}/mangled/").status_code == 404
    written = console.getvalue()
    assert "survey.checkin status=410" in written
    assert "Not Found: /s/[token]/mangled/" in written
    assert TOKEN not in written


def test_the_dev_servers_request_lines_are_redacted_too(console):
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /s/{TOKEN}/ HTTP/1.1", "200", "512")
    written = console.getvalue()
    assert '"GET /s/[token]/ HTTP/1.1" 200 512' in written and TOKEN not in written


def test_fixed_survey_paths_are_left_readable(console):
    logging.getLogger("django.request").warning("Not Found: %s", "/s/thanks/")
    assert "/s/thanks/" in console.getvalue()


@pytest.mark.django_db
def test_a_percent_encoded_token_is_redacted_too(console):
    encoded = "".join(f"%{ord(c):02X}" if i % 3 == 0 else c for i, c in enumerate(TOKEN))
    Client().get(f"/%73/{encoded}/mangled/")
    logging.getLogger("django.server").info('"%s" %s %s', f"GET /s/{encoded}/ HTTP/1.1", "410", "12")
    written = console.getvalue()
    assert "/s/[token]/" in written
    assert encoded not in written and TOKEN not in written


@pytest.mark.parametrize("path, shown", [
    ("/clinic/join/MTI/cz3k1a-0f9e8d7c6b5a4f3e2d1c/", "/clinic/join/[token]/"),
    ("/accounts/password-reset/MTI/cz3k1a-0f9e8d7c6b5a4f3e2d1c/", "/accounts/password-reset/[token]/"),
    ("/accounts/password-reset/MTI/cz3k1a-0f9e8d7c6b5a4f3e2d1c%2F/", "/accounts/password-reset/[token]/"),
])
def test_invitation_and_reset_links_are_redacted_in_request_lines(console, path, shown):
    logging.getLogger("django.server").info('"%s" %s %s', f"GET {path} HTTP/1.1", "200", "512")
    written = console.getvalue()
    assert shown in written and "cz3k1a-0f9e8d7c6b5a4f3e2d1c" not in written


def test_the_fixed_reset_pages_stay_readable(console):
    logging.getLogger("django.server").info('"%s" %s %s', "GET /accounts/password-reset/done/ HTTP/1.1", "200", "5")
    assert "/accounts/password-reset/done/" in console.getvalue()


def test_an_in_session_short_code_is_redacted_like_a_token(console):
    """/c/ redirects a typed code to /s/<CODE>/: 8 characters, a credential while it lives."""
    logging.getLogger("django.server").info('"%s" %s %s', "GET /s/K7P2QXWM/ HTTP/1.1", "200", "512")
    written = console.getvalue()
    assert "/s/[token]/" in written and "K7P2QXWM" not in written
