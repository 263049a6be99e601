"""A fake Twilio on loopback: a real HTTP server speaking the subset of Twilio's REST API
that Rapport uses, and signing the webhooks it sends back as Twilio does. The only fake
the tests use, at an edge we do not run (an SMS provider).

What it speaks (https://www.twilio.com/docs/messaging/api/message-resource):
- POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth with the
  account sid and auth token, form fields To, From or MessagingServiceSid, Body and
  StatusCallback. 201 with the message as JSON (sid "SM…", status "queued"); 401 with
  code 20003 for a wrong login; 400 with code 21211 for a To that is not E.164, 21602
  for an empty body, 21610 for a number that replied STOP (`blocked`).
- Webhooks to our server: delivery statuses (MessageSid, MessageStatus, ErrorCode, …)
  and incoming messages (From, To, Body, MessageSid, …), form-encoded, with
  X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + each parameter's name and
  value, sorted by name)). Computed here from that description, not with the library
  Rapport verifies it with, so a mistake on either side shows.

Failure modes a test can ask for: `fail_next(n, status=500)` answers the next n sends
with a server error (code 20500) or 429 (code 20429); `blocked` and `invalid` sets.
"""

import base64
import hashlib
import hmac
import json
import re
import threading
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_SID = "AC" + "f" * 32
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FROM_NUMBER = "+15005550006"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_signature(token, url, params):
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Message:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str
    status: str = "queued"


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list = field(default_factory=list)
    refused: list = field(default_factory=list)
    blocked: set = field(default_factory=set)
    failures: list = field(default_factory=list)  # statuses to answer the next sends with
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests read and arrange -------------------------------------------------

    @property
    def url(self):
        """SMS_URL for Rapport: plain HTTP to this server."""
        host, port = self.server.server_address[:2]
        return f"twilio+http://{self.account_sid}:{self.auth_token}@{host}:{port}?from=%2B{FROM_NUMBER[1:]}"

    def received(self):
        with self.lock:
            return list(self.messages)

    def fail_next(self, n, status=500):
        with self.lock:
            self.failures.extend([status] * n)

    def sign(self, url, params):
        return twilio_signature(self.auth_token, url, params)

    def webhook(self, url, params, *, signature=None):
        """POST a webhook to `url` as Twilio would; returns (status, body)."""
        data = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(url, data=data, method="POST")
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        request.add_header("X-Twilio-Signature", signature if signature is not None else self.sign(url, params))
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def status_params(self, message, status, error_code=""):
        params = {
            "AccountSid": self.account_sid, "MessageSid": message.sid, "SmsSid": message.sid,
            "MessageStatus": status, "SmsStatus": status, "To": message.to, "From": message.sender,
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = str(error_code)
        return params

    def incoming_params(self, sender, body):
        sid = "SM" + uuid.uuid4().hex
        return {
            "AccountSid": self.account_sid, "MessageSid": sid, "SmsMessageSid": sid, "From": sender,
            "To": FROM_NUMBER, "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01",
        }

    # --- the API ------------------------------------------------------------------------

    def handle_create(self, auth, form):
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if auth != expected:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        with self.lock:
            if self.failures:
                status = self.failures.pop(0)
                code = 20429 if status == 429 else 20500
                self.refused.append(status)
                return status, {"code": code, "message": "Try again later", "status": status}
        to = form.get("To", "")
        sender = form.get("From") or form.get("MessagingServiceSid", "")
        if not sender:
            return 400, {"code": 21603, "message": "A 'From' phone number is required.", "status": 400}
        if not E164.match(to):
            return 400, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.", "status": 400}
        if to in self.blocked:
            return 400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
        if not form.get("Body"):
            return 400, {"code": 21602, "message": "Message body is required.", "status": 400}
        message = Message(
            sid="SM" + uuid.uuid4().hex, to=to, sender=sender, body=form["Body"],
            status_callback=form.get("StatusCallback", ""),
        )
        with self.lock:
            self.messages.append(message)
        return 201, {
            "sid": message.sid, "account_sid": self.account_sid, "to": to, "from": sender, "body": message.body,
            "status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "price": None, "error_code": None, "error_message": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message.sid}.json",
        }

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                path = urllib.parse.urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[-1] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()}
                if path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json":
                    status, payload = fake.handle_create(self.headers.get("Authorization", ""), form)
                else:
                    status, payload = 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
