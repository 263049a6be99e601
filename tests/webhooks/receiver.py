"""A webhook receiver on loopback, as an EHR-side integration would write one: a real
HTTP server (http.server in a thread) that checks each delivery's signature exactly as
README, "Webhooks", tells a receiver to, and answers with the status codes a test asks
for. The only fake in these tests, at an edge we do not run (the clinic's own system).

Written from the README's recipe, not by importing webhooks/signing.py, so a mistake on
either side shows."""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def verify(secret, headers, body, *, now=None):
    """The receiver's check: HMAC-SHA256(secret, timestamp + "." + raw body), compared
    in constant time with the v1= value, and a timestamp no older than five minutes."""
    timestamp = headers.get("Rapport-Timestamp", "")
    given = headers.get("Rapport-Signature", "")
    if not timestamp.isdigit() or not given.startswith("v1="):
        return False
    if abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given[3:])


@dataclass
class Received:
    headers: dict
    body: bytes
    verified: bool
    answered: int

    @property
    def json(self):
        return json.loads(self.body)

    @property
    def key(self):
        return self.headers["Idempotency-Key"]

    @property
    def event(self):
        return self.headers["Rapport-Event"]


class Receiver:
    """`answers`: the status codes to answer, in order; after them, `then` (200).
    `hold_first`: seconds to sit on the first request before answering (a slow system)."""

    def __init__(self, secret="", answers=(), then=200, hold_first=0):
        self.secret = secret
        self.hold_first = hold_first
        self.answers = list(answers)
        self.then = then
        self.received = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                with receiver.lock:
                    hold, receiver.hold_first = receiver.hold_first, 0
                time.sleep(hold)
                with receiver.lock:
                    code = receiver.answers.pop(0) if receiver.answers else receiver.then
                    ok = verify(receiver.secret, headers, body)
                    receiver.received.append(Received(headers, body, ok, code))
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/rapport-hook"

    def got(self):
        with self.lock:
            return list(self.received)

    def delivered(self):
        """What the receiver accepted (answered 2xx), in arrival order."""
        return [r for r in self.got() if 200 <= r.answered < 300]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
