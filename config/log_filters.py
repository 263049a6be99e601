"""Logging filters. A check-in link's token is the client's only key, and Django logs
the path of every 4xx/5xx response ("Gone: /s/<token>/", "Bad Request: ..."), as does
the development server for every request: the console handler rewrites such paths
before anything is written."""

import logging
import re

_TOKEN_PATH = re.compile(r"/s/(?!manage/|thanks/)[A-Za-z0-9_-]{8,}/")


def _redact(value):
    return _TOKEN_PATH.sub("/s/[token]/", value) if isinstance(value, str) else value


class RedactCheckinTokens(logging.Filter):
    def filter(self, record):
        record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact(v) for k, v in record.args.items()}
        return True
