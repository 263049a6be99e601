"""A fixed-window request limit in one cache round trip, for the check-in link pages.

django-ratelimit (used for the staff's logins and password resets) counts with two
calls a request, `add` then `incr`: two round trips to Redis on every check-in GET and
POST, the hot path of a client's answer. This counts the same way — a count per key and
window of the rate, refused past the limit — with FastRedisCache.hit (config/cache.py),
INCR and EXPIRE in one script. Rates are written as django-ratelimit writes them
("30/m", "100/10m"). Any other cache (tests, the embedded default) counts with
add + incr, as django-ratelimit would.
"""

import hashlib
import re
import time

from django.conf import settings
from django.core.cache import caches

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")


def rate_parse(rate):
    """'30/10m' → (30, 600)."""
    match = _RATE.match(rate.strip())
    if match is None:
        raise ValueError(f"not a rate: {rate!r} (write it as 30/m or 100/10m)")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNITS[unit]


def _key(group, value, rate, now):
    limit, period = rate_parse(rate)
    window = int(now if now is not None else time.time()) // period
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return limit, period, f"rl1:{group}:{period}:{window}:{digest}"


def over_limit_later(group, value, rate, *, now=None):
    """`over_limit`, counted now and answered later: returns a function that says
    whether this request went past `rate`. With FastRedisCache the count's round trip
    runs while the caller does its own work (a link page's GET, which changes nothing,
    so it may be done and thrown away); elsewhere the count is taken at once. The
    function must be called, whatever happened in between."""
    limit, period, key = _key(group, value, rate, now)
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    begin = getattr(cache, "hit_begin", None)
    if begin is None:
        over = over_limit(group, value, rate, now=now)
        return lambda: over
    count = begin(key, period + 1)
    return lambda: count() > limit


def over_limit(group, value, rate, *, now=None):
    """Count this request for `value` (an address) in `group`, and say whether it goes
    past `rate`. The value is hashed into the key, so no address sits in the cache."""
    limit, period, key = _key(group, value, rate, now)
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    hit = getattr(cache, "hit", None)
    if hit is not None:
        count = hit(key, period + 1)
    else:
        if cache.add(key, 1, period + 1):
            count = 1
        else:
            try:
                count = cache.incr(key)
            except ValueError:  # expired between the two calls: a new window
                cache.add(key, 1, period + 1)
                count = 1
    return count > limit
