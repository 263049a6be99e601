"""Which middleware a page runs, through the real WSGI application (config/wsgi.py, what
gunicorn serves): a check-in link page only what it needs (config/link_pages.py), and
every staff page, the one under /s/ included, the whole of settings.MIDDLEWARE. The
link page keeps every header and limit a client's page must have."""

import io
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

import config.wsgi
from alliance.models import CheckIn
from config.link_pages import is_link_page, middleware_names

pytestmark = pytest.mark.django_db

ANSWERS = {"trust": "9", "empathy": "8", "boundaries": "10", "collaboration": "7", "comment": ""}


@pytest.fixture
def wsgi():
    """Call config.wsgi.application as a WSGI server would. The test's transaction
    stays open across calls: as Django's test client does, requests do not close the
    database connection here."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def call(method, path, body=None, cookie=None):
        data = urlencode(body).encode() if body is not None else b""
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
            "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver", "REMOTE_ADDR": "192.0.2.9",
            "wsgi.input": io.BytesIO(data), "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        got = {}

        def start_response(status, headers, exc_info=None):
            got["status"], got["headers"] = int(status.split()[0]), headers

        result = config.wsgi.application(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        headers = {}
        for k, v in got["headers"]:
            headers.setdefault(k.lower(), []).append(v)
        return got["status"], headers, content.decode()

    yield call
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_link_pages_run_only_their_middleware_and_staff_pages_all():
    assert middleware_names(config.wsgi.application.links) == settings.LINK_PAGES_MIDDLEWARE
    assert middleware_names(config.wsgi.application.staff) == settings.MIDDLEWARE
    skipped = set(settings.MIDDLEWARE) - set(settings.LINK_PAGES_MIDDLEWARE)
    for name in ("SessionMiddleware", "CsrfViewMiddleware", "AuthenticationMiddleware", "MessageMiddleware",
                 "SecondFactorRequiredMiddleware", "HandoverLockMiddleware", "AxesMiddleware"):
        assert any(path.endswith(name) for path in skipped), name


def test_which_paths_are_link_pages():
    assert is_link_page("/s/abc/") and is_link_page("/s/thanks/") and is_link_page("/s/abc/unsubscribe/")
    # The therapist's "send it again" sits under /s/ but is a staff page.
    assert not is_link_page("/s/manage/3/resend/")
    assert not is_link_page("/") and not is_link_page("/clinic/") and not is_link_page("/sessions/1/")


def test_a_link_page_keeps_its_headers_and_sets_no_cookie(wsgi, sent_invitation):
    _, token = sent_invitation
    status, headers, html = wsgi("GET", f"/s/{token}/")
    assert status == 200 and "I felt heard and understood." in html
    # The policy every page has (the link pages build it once per process).
    _, staff_headers, _ = wsgi("GET", "/accounts/login/")
    assert headers["content-security-policy"] == staff_headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"][0]
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["referrer-policy"] == ["no-referrer"]
    assert headers["cache-control"] == ["no-store"]
    # No session or CSRF cookie: nothing on this page is authorised by a cookie.
    assert "set-cookie" not in headers
    assert "Cookie" not in ",".join(headers.get("vary", []))


def test_the_answer_is_stored_through_the_link_pages_chain(wsgi, sent_invitation):
    invitation, token = sent_invitation
    status, headers, _ = wsgi("POST", f"/s/{token}/", ANSWERS)
    assert (status, headers["location"]) == (302, ["/s/thanks/?lang=en"])
    checkin = CheckIn.objects.get(session_id=invitation.session_id, source=CheckIn.Source.CLIENT)
    assert (checkin.trust, checkin.collaboration) == (9, 7)
    assert wsgi("GET", "/s/thanks/")[0] == 200
    # A second POST of the used link gets the gone page.
    assert wsgi("POST", f"/s/{token}/", ANSWERS)[0] == 410


def test_a_link_page_is_still_rate_limited(wsgi, sent_invitation):
    _, token = sent_invitation
    cache.clear()
    with override_settings(SURVEY_RATE_LIMIT="3/m"):
        codes = [wsgi("GET", f"/s/{token}/")[0] for _ in range(5)]
    cache.clear()
    assert codes == [200, 200, 200, 429, 429]


def test_staff_pages_still_get_sessions_csrf_and_login(wsgi, sent_invitation):
    invitation, _ = sent_invitation
    # The login page: a CSRF cookie and a session-backed form, with the CSP.
    status, headers, html = wsgi("GET", "/accounts/login/")
    assert status == 200 and "content-security-policy" in headers and "Cookie" in headers["vary"][0].split(", ")
    assert any(c.strip().startswith(settings.CSRF_COOKIE_NAME + "=") for c in headers.get("set-cookie", []))
    # A POST without the CSRF token is refused: CsrfViewMiddleware ran.
    assert wsgi("POST", "/accounts/login/", {"username": "alice@example.com", "password": "x"})[0] == 403
    # The staff page under /s/ asks for a login (auth middleware ran), anonymous or not.
    status, headers, _ = wsgi("POST", f"/s/manage/{invitation.pk}/resend/")
    assert status in (302, 403)
    if status == 302:
        assert "/accounts/login/" in headers["location"][0]

