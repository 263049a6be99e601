"""Searching the caseload by name in a real browser, on `make run`'s own web server
(config.settings.local): the results show, and the name is in no URL the browser
requests, in no Referer it sends, in its address bar, and in no line of the
server's log."""

import pytest

from django.conf import settings
from django.test import Client

from tests.conftest import verified_session_login
from tests.factories import ClientFactory
from tests.services import local_server  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NAME = "Maria Zabalaga"


def test_a_search_by_name_finds_the_client_and_leaves_the_name_in_no_url_or_log(
    page, local_server, alice, caplog  # noqa: F811 - the fixture imported above
):
    caplog.set_level("DEBUG")
    maria = ClientFactory(therapist=alice, display_name=NAME)
    ClientFactory(therapist=alice, display_name="Tom Berg")
    seen = []
    page.on("request", lambda r: seen.append((r.url, r.headers.get("referer", ""))))
    # Logged in with both factors (the local settings hash passwords differently from the
    # test settings, so the session is made here rather than through the login form).
    session = verified_session_login(Client(), alice).cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": local_server.url}])

    page.goto(f"{local_server.url}/caseload/")
    page.get_by_label("Search by name").fill("zabal")
    page.get_by_role("button", name="Filter").click()
    page.get_by_text("1 client matches").wait_for()
    assert page.locator("table.caseload tbody tr").all_inner_texts()[0].startswith(NAME)
    assert page.get_by_role("link", name="Tom Berg").count() == 0
    assert page.get_by_label("Search by name").input_value() == "zabal"
    assert page.url == f"{local_server.url}/caseload/"

    # Opening the client from the results sends no name in its Referer either.
    page.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/clients/{maria.pk}/")
    address = page.evaluate("() => location.href")

    requested = [url for url, _ in seen]
    assert f"{local_server.url}/clients/{maria.pk}/" in requested
    for text in ("zabal", "Zabalaga", "Maria"):
        assert not [u for u in requested if text.lower() in u.lower()], (text, requested)
        assert not [r for _, r in seen if text.lower() in r.lower()], (text, seen)
        assert text.lower() not in address.lower()
        assert text.lower() not in local_server.log().lower(), local_server.log()
        assert text.lower() not in caplog.text.lower()
    assert '"POST /caseload/ HTTP/1.1" 200' in local_server.log()
