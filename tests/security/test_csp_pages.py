"""Every page works under our Content Security Policy: no inline <script>, no inline
event handler, no style attribute or <style> block, no javascript: URL. The browser
would block each of them (CSP: script-src 'self'; style-src 'self'), so a page that has
one is broken for real users, not just untidy."""

import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from tests.security.test_access_matrix import TABLE, allowed, kwargs_for
from tests.security.world import ROLES, all_routes, build_world, login_client

pytestmark = pytest.mark.django_db

INLINE = [
    ("inline <script>", re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>", re.I)),
    ("inline event handler", re.compile(rb"<[^>]+\son[a-z]+\s*=", re.I)),
    ("style attribute", re.compile(rb"<[^>]+\sstyle\s*=", re.I)),
    ("<style> block", re.compile(rb"<style[\s>]", re.I)),
    ("javascript: URL", re.compile(rb"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.I)),
]
# <script type="application/json"> carries data, not code; the CSP does not run it.
DATA_SCRIPT = re.compile(rb"""<script[^>]*type=["']application/(ld\+)?json["'][^>]*>""", re.I)


def violations(html):
    found = []
    for label, pattern in INLINE:
        for match in pattern.finditer(html):
            if label == "inline <script>" and DATA_SCRIPT.match(match.group(0)):
                continue
            found.append(f"{label}: {match.group(0)[:80].decode(errors='replace')}")
    return found


def test_the_detector_finds_what_the_browser_would_block():
    assert violations(b'<p style="color:red">') and violations(b"<script>alert(1)</script>")
    assert violations(b'<button onclick="x()">') and violations(b'<a href="javascript:x()">')
    assert not violations(b'<script src="/static/app.js"></script><script type="application/json" id="d">{}</script>')


def test_no_page_has_inline_script_or_style(settings):
    settings.LOGIN_RATE_PER_IP = "100000/m"
    world = build_world()
    clients = {"anonymous": Client()}
    for role in ROLES:
        if role != "anonymous":
            clients[role] = login_client(Client(), world.users[role])
    problems, pages = {}, 0
    for route in all_routes():
        if route.name not in TABLE:
            continue
        kind, specs, options = TABLE[route.name]
        if "skip" in options:
            continue
        for obj in world.objects[kind] if kind else [None]:
            try:
                url = reverse(route.name, kwargs=kwargs_for(route, obj))
            except NoReverseMatch:
                continue
            for role in ROLES:
                if not allowed(specs, role, obj):
                    continue
                response = clients[role].get(url)
                if "text/html" not in response.get("Content-Type", ""):
                    continue
                pages += 1
                assert "Content-Security-Policy" in response, f"{url} has no CSP header"
                found = violations(response.content)
                if found:
                    problems.setdefault(route.name, set()).update(found)
    print(f"\nCSP walk: {pages} HTML pages checked")
    assert not problems, "pages the CSP would break:\n" + "\n".join(
        f"  {name}: {sorted(items)[:5]}" for name, items in sorted(problems.items())
    )


def test_the_csp_header_forbids_inline_code(client):
    header = client.get(reverse("login"))["Content-Security-Policy"]
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header
    assert "script-src 'self'" in header and "style-src 'self'" in header
