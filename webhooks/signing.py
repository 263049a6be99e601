"""How a delivery is signed, the way Stripe signs its webhooks (README, "Webhooks").

    Rapport-Timestamp: 1764772800
    Rapport-Signature: v1=<hex HMAC-SHA256(secret, "1764772800." + raw body)>

The receiver recomputes the HMAC over the timestamp it was sent, a full stop and the raw
body bytes exactly as received (before any JSON parsing), compares in constant time, and
refuses a timestamp older than a few minutes, so a captured request cannot be replayed
later. `v1=` names the scheme, so another can be added beside it without breaking
receivers."""

import hashlib
import hmac
import secrets

SCHEME = "v1"

# Header names, sent on every delivery.
EVENT_HEADER = "Rapport-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "Rapport-Timestamp"
SIGNATURE_HEADER = "Rapport-Signature"


def new_secret():
    """A signing secret: 32 random bytes, URL-safe, with a prefix that says what it is."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return f"{SCHEME}=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
