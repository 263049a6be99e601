"""The Redis cache the rate limits count in (config/cache.py), against the real Redis:
it counts like Django's own RedisCache, never loses a count under concurrent requests,
and django-ratelimit refuses the request past the limit with it."""

import os
import threading
import uuid

import pytest
from django.core.cache.backends.redis import RedisCache
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited

from config.cache import FastRedisCache

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8")


def _caches():
    prefix = f"test-{uuid.uuid4().hex}"
    params = {"KEY_PREFIX": prefix}
    return FastRedisCache(REDIS_URL, params), RedisCache(REDIS_URL, params)


def test_it_counts_like_djangos_redis_cache():
    fast, plain = _caches()
    for cache in (fast, plain):
        with pytest.raises(ValueError):
            cache.incr(f"missing-{id(cache)}")
        assert cache.add(f"n-{id(cache)}", 1, 60) is True
        assert cache.add(f"n-{id(cache)}", 1, 60) is False
        assert [cache.incr(f"n-{id(cache)}") for _ in range(3)] == [2, 3, 4]
        assert cache.incr(f"n-{id(cache)}", 10) == 14
        assert cache.get(f"n-{id(cache)}") == 14
    # Each reads what the other wrote: the same keys and encoding.
    fast.set("shared", 5, 60)
    assert plain.incr("shared") == 6 and fast.get("shared") == 6


def test_counting_up_keeps_the_window_expiry():
    fast, _ = _caches()
    fast.add("window", 1, 60)
    fast.incr("window")
    client = fast._cache.get_client(write=True)
    ttl = client.ttl(fast.make_key("window"))
    assert 0 < ttl <= 60


def test_no_count_is_lost_under_concurrent_requests():
    fast, _ = _caches()
    fast.add("busy", 0, 60)

    def hit():
        for _ in range(100):
            fast.incr("busy")

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert fast.get("busy") == 800


def test_one_client_serves_every_call():
    fast, _ = _caches()
    assert fast._cache.get_client() is fast._cache.get_client(write=True)


def test_ratelimit_refuses_past_the_limit(settings):
    fast, _ = _caches()
    settings.CACHES = {"default": {"BACKEND": "config.cache.FastRedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": fast.key_prefix}}
    request = RequestFactory().get("/s/x/", REMOTE_ADDR="192.0.2.7")
    limited = [is_ratelimited(request, group="survey-test", key="ip", rate="3/m", increment=True) for _ in range(5)]
    assert limited == [False, False, False, True, True]


def test_a_count_begun_before_the_work_and_read_after_counts_like_hit():
    fast, _ = _caches()
    pool = fast._cache.get_client(write=True).connection_pool
    counts = []
    for _ in range(3):
        read = fast.hit_begin("later", 60)
        counts.append(read())
    assert counts == [1, 2, 3]
    assert fast.hit("later", 60) == 4
    # Each read gave its connection back: the pool holds no more than one made.
    assert len(pool._available_connections) + len(pool._in_use_connections) == 1 and not pool._in_use_connections


def test_a_count_begun_after_redis_lost_its_scripts_still_counts():
    import redis

    fast, _ = _caches()
    assert fast.hit("flushed", 60) == 1  # the script is loaded
    redis.Redis.from_url(REDIS_URL).script_flush()
    assert fast.hit_begin("flushed", 60)() == 2


def test_a_get_is_refused_past_the_limit_though_its_page_was_made(settings):
    from config.ratelimit import over_limit_later

    fast, _ = _caches()
    settings.CACHES = {"default": {"BACKEND": "config.cache.FastRedisCache", "LOCATION": REDIS_URL,
                                   "KEY_PREFIX": fast.key_prefix}}
    assert [over_limit_later("survey-test", "192.0.2.8", "2/m")() for _ in range(4)] == [False, False, True, True]
