"""Making and checking API key secrets.

A secret is `rk_<prefix>_<body>`: the prefix (8 hex characters) finds the row, the body
is 32 random bytes (256 bits, urlsafe base64). Only SHA-256 of the whole secret is
stored. A password hasher (PBKDF2, Argon2) exists to slow down guessing of secrets
people choose, which have little entropy; a 256-bit random token cannot be guessed
however fast the hash, and a slow hash would cost every API call tens of milliseconds
of CPU (an open door for exhausting the server). So a fast hash, compared in constant
time, as GitHub and Stripe do for their tokens.
"""

import hashlib
import hmac
import secrets

PREFIX_LENGTH = 8
SCHEME = "rk"


def new_secret():
    """A fresh (prefix, secret, digest)."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return prefix, secret, digest(secret)


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def split(secret):
    """The prefix of a well-formed secret, or None."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


def matches(secret, stored_digest):
    return hmac.compare_digest(digest(secret), stored_digest)
