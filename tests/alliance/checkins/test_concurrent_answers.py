"""Fifty submissions of one link at the same moment store exactly one check-in: the
conditional UPDATE decides, not a read-then-write in Python."""

import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from alliance.models import CheckIn, SurveyInvitation
from tests.alliance.conftest import log_session, send_inline, token_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

N = 50


class WideServer(ThreadedWSGIServer):
    # The default listen backlog of 5 would reset most of fifty simultaneous connections.
    request_queue_size = 128


class WideLiveServer(LiveServerThread):
    server_class = WideServer


@pytest.fixture
def wide_live_server():
    """Like pytest-django's live_server (a thread per request, each with its own
    database connection), but able to accept fifty connections at once."""
    thread = WideLiveServer("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(timeout=30)
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


def test_fifty_simultaneous_posts_of_one_link_store_one_check_in(require_postgres, wide_live_server, alice_client):
    from django.core import mail

    _, invitation = log_session(client=alice_client)
    send_inline(invitation)
    url = f"{wide_live_server}/s/{token_of(mail.outbox[-1])}/"

    # A phone's first visit shows the form; the fifty then post it at once.
    assert urllib.request.urlopen(url, timeout=30).status == 200
    body = urllib.parse.urlencode({"trust": "7", "empathy": "8", "boundaries": "9", "collaboration": "10"}).encode()

    barrier = threading.Barrier(N)
    no_redirects = urllib.request.build_opener(NoRedirect)

    resets = Counter()

    def submit(i):
        request = urllib.request.Request(url, data=body, headers={"Origin": "null"})
        barrier.wait(timeout=30)
        for _ in range(10):
            try:
                return no_redirects.open(request, timeout=60).status
            except urllib.error.HTTPError as exc:
                return exc.code
            except (ConnectionResetError, urllib.error.URLError):
                # Should the server still refuse a connection before accepting it, no
                # request went through, so sending it again is the same POST.
                resets[i] += 1
        raise AssertionError("the live server kept resetting the connection")

    with ThreadPoolExecutor(max_workers=N) as pool:
        statuses = Counter(pool.map(submit, range(N)))
    print(f"\nconcurrent POSTs: {dict(statuses)} check-ins={CheckIn.objects.count()} "
          f"connections refused by the server and retried={sum(resets.values())}")
    assert statuses == {302: 1, 410: N - 1}
    assert CheckIn.objects.filter(source="client").count() == 1
    invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.ANSWERED


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None

    def http_error_302(self, req, fp, code, msg, headers):
        return fp
