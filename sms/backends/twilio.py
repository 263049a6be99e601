"""Twilio's Messages API, through Twilio's own Python library.

Sending: POST /2010-04-01/Accounts/{sid}/Messages.json with To, From (or
MessagingServiceSid), Body and StatusCallback. Twilio answers 201 with the message's
sid; 4xx errors carry a numeric code (21211 invalid number, 21610 the recipient replied
STOP, …) and will fail again; 429, 5xx and network errors may pass later.

Webhooks (delivery status and incoming replies) are signed: X-Twilio-Signature is the
base64 HMAC-SHA1, under the auth token, of the full URL Twilio called followed by every
POST parameter, sorted by name, each name followed by its value. Twilio's
RequestValidator checks it.

`twilio+http://` talks plain HTTP to the host given, for a test double on loopback.
"""

from functools import lru_cache

from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from sms import SmsError

# Delivery statuses in the order a message moves through them; a callback that arrives
# late (Twilio does not promise order) never moves a message backwards.
STATUS_ORDER = ["accepted", "queued", "sending", "sent", "delivered", "undelivered", "failed"]
FAILED = {"undelivered", "failed"}


@lru_cache(maxsize=4)
def _client(scheme, account, secret, host, timeout):
    """One client per process and configuration: its HTTP session keeps the TLS
    connection to Twilio open between texts, as a batch of sends wants."""
    client = Client(account, secret, http_client=TwilioHttpClient(timeout=timeout))
    if host and host != "api.twilio.com":
        client.api.base_url = f"{'http' if scheme == 'twilio+http' else 'https'}://{host}"
    return client


def send(provider, *, to, body, status_callback=None):
    sender = {}
    if provider.options.get("messaging_service"):
        sender["messaging_service_sid"] = provider.options["messaging_service"]
    else:
        sender["from_"] = provider.options.get("from", "")
    try:
        client = _client(provider.scheme, provider.account, provider.secret, provider.host, settings.SMS_TIMEOUT)
        message = client.messages.create(
            to=to, body=body, status_callback=status_callback or None, **sender
        )
    except TwilioRestException as exc:
        transient = exc.status == 429 or exc.status >= 500
        raise SmsError(f"Twilio {exc.code or exc.status}", transient=transient) from None
    except OSError as exc:  # requests' connection errors and timeouts are OSErrors
        raise SmsError(type(exc).__name__, transient=True) from None
    return message.sid


def verify_signature(provider, *, url, params, headers):
    signature = headers.get("X-Twilio-Signature", "")
    return bool(signature) and RequestValidator(provider.secret).validate(url, params, signature)


def parse_status(params):
    """(message id, status, error code) of a delivery-status callback."""
    return params.get("MessageSid", ""), params.get("MessageStatus", ""), params.get("ErrorCode", "")


def parse_incoming(params):
    """(from number, text) of an incoming message."""
    return params.get("From", ""), params.get("Body", "")


def empty_reply():
    """What Twilio expects from an incoming-message webhook that sends no reply."""
    return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml"
