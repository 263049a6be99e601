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
