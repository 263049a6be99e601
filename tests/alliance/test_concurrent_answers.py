"""Fifty submissions of one link at the same moment store exactly one check-in: the
conditional UPDATE decides, not a read-then-write in Python."""

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from alliance.models import CheckIn, SurveyInvitation
from tests.alliance.conftest import log_session, send_inline, token_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

N = 50


def test_fifty_simultaneous_posts_of_one_link_store_one_check_in(require_postgres, live_server, alice_client):
    from django.core import mail

    _, invitation = log_session(client=alice_client)
    send_inline(invitation)
    url = f"{live_server.url}/s/{token_of(mail.outbox[-1])}/"

    # A phone's first visit: the form and its CSRF cookie.
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(url, timeout=30).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf, "trust": "7", "empathy": "8", "boundaries": "9", "collaboration": "10"}
    ).encode()

    barrier = threading.Barrier(N)
    no_redirects = urllib.request.build_opener(NoRedirect)

    resets = Counter()

    def submit(i):
        request = urllib.request.Request(url, data=body, headers={"Cookie": cookie, "Referer": url})
        barrier.wait(timeout=30)
        for _ in range(10):
            try:
                return no_redirects.open(request, timeout=60).status
            except urllib.error.HTTPError as exc:
                return exc.code
            except (ConnectionResetError, urllib.error.URLError):
                # The test server's listen backlog is 5; a connection it reset before
                # accepting carried no request, so sending it again is the same POST.
                resets[i] += 1
        raise AssertionError("the live server kept resetting the connection")

    with ThreadPoolExecutor(max_workers=N) as pool:
        statuses = Counter(pool.map(submit, range(N)))
    print(f"\nconcurrent POSTs: {dict(statuses)} check-ins={CheckIn.objects.count()} "
          f"connections reset by the test server and retried={sum(resets.values())}")
    assert statuses == {302: 1, 410: N - 1}
    assert CheckIn.objects.filter(source="client").count() == 1
    invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.ANSWERED


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp
