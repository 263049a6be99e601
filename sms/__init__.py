"""Text messages: one small interface in front of an SMS provider's HTTP API.

`sms_send(to, body, status_callback=...)` returns the provider's message id or raises
`SmsError`, which says whether a retry may help. Which provider is configured by
`SMS_URL`, as `EMAIL_URL` picks the mail backend (config/settings/base.py):

    twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B15551234567
    twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?messaging_service=MG...
    file://         the embedded default: each text is a file under var/outbox/
    none://         texting is off; clients are asked by email and in session only

Another provider is another module in sms/backends/ with the same three functions:
`send`, `verify_signature` and `parse_status` (see sms/backends/twilio.py).
"""

from dataclasses import dataclass
from importlib import import_module
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

BACKENDS = {"twilio": "sms.backends.twilio", "twilio+http": "sms.backends.twilio", "file": "sms.backends.file"}


class SmsError(Exception):
    """A text that was not accepted. `transient` says a retry may get it through;
    `code` is the provider's error code, short enough to show on the client page (the
    provider's message text is never kept: it may quote the number)."""

    def __init__(self, code, *, transient):
        super().__init__(code)
        self.code = str(code)[:60]
        self.transient = transient


@dataclass(frozen=True)
class Provider:
    scheme: str
    account: str
    secret: str
    host: str
    options: dict

    @property
    def backend(self):
        return import_module(BACKENDS[self.scheme])


def provider_from_url(url):
    """Parse SMS_URL into a Provider, or None when texting is off."""
    parts = urlsplit(url or "none://")
    if parts.scheme == "none":
        return None
    if parts.scheme not in BACKENDS:
        raise ValueError(f"SMS_URL: unknown provider {parts.scheme!r} (known: none, {', '.join(BACKENDS)})")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return Provider(
        scheme=parts.scheme, account=unquote(parts.username or ""), secret=unquote(parts.password or ""),
        host=parts.netloc.rpartition("@")[2], options=options,
    )


def provider():
    return provider_from_url(settings.SMS_URL)


def sms_send(to, body, *, status_callback=None):
    """Send one text; return the provider's message id. Raises SmsError."""
    configured = provider()
    if configured is None:
        raise SmsError("texting is not configured", transient=False)
    return configured.backend.send(configured, to=str(to), body=body, status_callback=status_callback)
