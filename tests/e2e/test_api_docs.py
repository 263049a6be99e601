"""The API's docs page works in a real browser under our Content Security Policy, from
our own origin only: Swagger UI (vendored by drf-spectacular-sidecar) renders the
schema's operations, the console shows no CSP violation, and no request leaves the site."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def test_the_api_docs_render_under_our_csp_from_our_own_origin(live_server, page):
    violations, errors, origins = [], [], set()
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: origins.add(urlsplit(request.url)._replace(path="", query="", fragment="").geturl()))
    page.goto(f"{live_server.url}/api/v1/docs/")
    page.get_by_text("Rapport API").first.wait_for(timeout=20000)
    page.locator(".opblock-summary-path", has_text="/api/v1/clients/").first.wait_for(timeout=20000)
    assert violations == [] and errors == []
    assert origins - {live_server.url, "data:"} == set(), origins
