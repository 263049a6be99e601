"""The Redis cache, cheaper per call for the counters that rate limiting keeps.

Django's RedisCache builds a new redis-py client object on every call (over a shared
connection pool) and counts up with two round trips (EXISTS, then INCRBY), so each
rate-limited request cost three round trips and three client objects: django-ratelimit
calls `add` then `incr`. Here one client per pool serves every call, and `incr` is one
atomic script (still ValueError for a missing key, which django-ratelimit relies on):
two round trips a request, and a count that cannot be lost between the check and the
increment.

`hit` counts a request in a fixed window in one round trip (INCR, and EXPIRE when the
INCR made the key), for the limits on the check-in link pages (config/ratelimit.py).
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError
from redis.exceptions import TimeoutError as RedisTimeoutError

# INCRBY only if the key exists: an absent key answers false (nil).
_INCR_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.call('INCRBY', KEYS[1], ARGV[1])
end
return false
"""

# Count one more in a window that ends `ARGV[1]` seconds after its first hit.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class _Client(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}
        self._incr_script = None
        self._hit_script = None

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            # redis-py clients are thread-safe over their pool: one is enough.
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        client = self.get_client(key, write=True)
        if self._incr_script is None:
            self._incr_script = client.register_script(_INCR_EXISTING)
        value = self._incr_script(keys=[key], args=[delta], client=client)
        if value is None:
            raise ValueError("Key '%s' not found." % key)
        return value


    def _hit_client(self, key):
        client = self.get_client(key, write=True)
        if self._hit_script is None:
            self._hit_script = client.register_script(_HIT)
        return client

    def hit(self, key, timeout):
        client = self._hit_client(key)
        return int(self._hit_script(keys=[key], args=[int(timeout)], client=client))

    def hit_begin(self, key, timeout):
        """`hit`, sent now and answered later: returns a function that reads the count.
        The caller does its own work in between (a GET's database lookup), so the two
        round trips overlap. The function must be called, even when that work failed:
        it gives the connection back to the pool."""
        pool = self._hit_client(key).connection_pool
        conn = pool.get_connection()
        try:
            conn.send_command("EVALSHA", self._hit_script.sha, 1, key, int(timeout))
        except (RedisConnectionError, RedisTimeoutError):
            # A kept connection the server dropped: redis-py's own path reconnects.
            pool.release(conn)
            return lambda: self.hit(key, timeout)
        except BaseException:
            pool.release(conn)
            raise

        def count():
            try:
                return int(conn.read_response())
            except (NoScriptError, RedisConnectionError, RedisTimeoutError):
                # Redis lost its scripts (a restart: nothing was counted) or the
                # connection (whether it counted is unknown): count on redis-py's own
                # path; at worst one request counts twice, never none.
                return self.hit(key, timeout)
            finally:
                pool.release(conn)

        return count


class FastRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache with the client above."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _Client

    def hit(self, key, timeout):
        """Count one request under `key` and return the count, the key expiring
        `timeout` seconds after the first: one round trip."""
        key = self.make_and_validate_key(key)
        return self._cache.hit(key, timeout)

    def hit_begin(self, key, timeout):
        """`hit` in two halves (see _Client.hit_begin): returns the function that
        reads the count."""
        key = self.make_and_validate_key(key)
        return self._cache.hit_begin(key, timeout)
