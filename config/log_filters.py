"""Logging filters. A check-in link's token is the client's only key, and a staff
invitation or password-reset link opens an account; Django logs the path of every
4xx/5xx response ("Gone: /s/<token>/", "Bad Request: ..."), as does the development
server for every request: the console handler rewrites such paths, however they are
percent-encoded, before anything is written."""

import logging
import re
from urllib.parse import unquote

# Paths that carry a credential, matched on the *decoded* path: Django routes
# /s/%5Aq3v…/ (or /%73/…/) to the same view as the plain form, so a pattern that only
# knows the plain characters would let the encoded form through to the log.
_CREDENTIAL_PATHS = [
    # A client's check-in link (the fixed /s/manage/ and /s/thanks/ pages are not keys).
    (re.compile(r"/s/(?!manage/|thanks/)[^/]{8,}/"), "/s/[token]/"),
    # A staff invitation and a password-reset link: user id and single-use token.
    (re.compile(r"/clinic/join/[^/]+/[^/]+/"), "/clinic/join/[token]/"),
    (re.compile(r"/accounts/password-reset/(?!sent/|done/)[^/]+/[^/]+/"), "/accounts/password-reset/[token]/"),
]
_PATHISH = re.compile(r"/[^\s\"'<>]*")


def _decoded(path):
    # Twice at most: a doubly encoded path (%2573) decodes to what a proxy would forward.
    for _ in range(2):
        path, before = unquote(path), path
        if path == before:
            break
    return path


def _redact_path(match):
    raw = match.group(0)
    decoded = redacted = _decoded(raw)
    for pattern, replacement in _CREDENTIAL_PATHS:
        redacted = pattern.sub(replacement, redacted)
    return redacted if redacted != decoded else raw


def _redact(value):
    return _PATHISH.sub(_redact_path, value) if isinstance(value, str) else value


class RedactCheckinTokens(logging.Filter):
    def filter(self, record):
        record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact(v) for k, v in record.args.items()}
        return True
