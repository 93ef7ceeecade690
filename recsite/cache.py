"""The Redis cache backend of the site: it fails soft, fast and quietly.

The cache holds rate-limit counters and short-lived read caches, so a Redis outage must cost
requests nothing but the cache:

* every failed cache call reads as a miss (``get`` returns its default, ``set`` stores nothing);
* the failure is logged in ONE line, at most once a minute per process (no traceback per call);
* after a connection failure or timeout the process does not touch Redis for ``FAILURE_BACKOFF``
  seconds (a small circuit breaker): a Redis that accepts connections but never answers would
  otherwise add a socket timeout to every cache call of every request;
* redis-py's own retries are switched off: one attempt within the socket timeouts, then the
  breaker decides when to try again.

Configured in ``CACHES`` (recsite/settings.py) with ``OPTIONS["FAILURE_BACKOFF"]`` in seconds.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

logger = logging.getLogger(__name__)

LOG_INTERVAL = 60.0  # seconds between two log lines about the same Redis
# Errors that mean "Redis is not there (in time)": they open the breaker. Others (a bad command)
# are logged and read as a miss, but do not stop the next call.
_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, socket.timeout, OSError)


class CircuitBreaker:
    """Shared by every cache client of one process for one Redis address (thread-safe)."""

    def __init__(self, *, name: str, backoff: float, clock=time.monotonic):
        self.name = name
        self.backoff = backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._last_log = float("-inf")
        self.failures = 0

    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def record_failure(self, error: BaseException | None) -> None:
        outage = isinstance(error, _OUTAGE_ERRORS)
        with self._lock:
            now = self._clock()
            self.failures += 1
            if outage:
                self._open_until = now + self.backoff
            if now - self._last_log < LOG_INTERVAL:
                return
            self._last_log = now
        reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}".rstrip(": ")
        if outage:
            logger.warning(
                "Cache %s unavailable (%s); serving without the cache, next attempt in %gs "
                "(logged at most once a minute).",
                self.name,
                reason,
                self.backoff,
            )
        else:
            logger.warning(
                "Cache %s call failed (%s); read as a miss (logged at most once a minute).", self.name, reason
            )


_breakers: dict[str, CircuitBreaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(location: str, *, backoff: float) -> CircuitBreaker:
    """The process-wide breaker of one Redis address (created on first use)."""
    with _breakers_lock:
        breaker = _breakers.get(location)
        if breaker is None:
            breaker = _breakers[location] = CircuitBreaker(name=_safe_name(location), backoff=backoff)
        return breaker


def _safe_name(location: str) -> str:
    """``host:port/db`` of a Redis URL, without user name or password (fit for a log line)."""
    first = location.split(",")[0]
    try:
        parts = urlsplit(first)
        if not parts.hostname:
            return parts.path or "redis"
        return f"{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"
    except ValueError:
        return "redis"


class _GuardedClient:
    """Wraps django-redis's client: refuses at once while the breaker is open, reports failures."""

    def __init__(self, client: Any, breaker: CircuitBreaker):
        self._client = client
        self._breaker = breaker

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr
        breaker = self._breaker

        @functools.wraps(attr)
        def guarded(*args, **kwargs):
            if breaker.is_open():
                raise ConnectionInterrupted(connection=None)
            try:
                return attr(*args, **kwargs)
            except ConnectionInterrupted as exc:
                breaker.record_failure(exc.__cause__)
                raise

        return guarded


# The limiters' counter, atomically: open the window on the first hit (a counter with no expiry, e.g.
# written by hand, gets one), count this hit, and return the hits and the window's milliseconds left.
COUNT_IN_WINDOW = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1]) * 1000
end
return {hits, left}
"""
_COUNT_SHA = hashlib.sha1(COUNT_IN_WINDOW.encode()).hexdigest()


class ResilientRedisCache(RedisCache):
    """django-redis's cache with errors ignored, logged in one line a minute, and a circuit breaker."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        options = dict(params.get("OPTIONS") or {})
        backoff = float(options.pop("FAILURE_BACKOFF", 10.0))
        options["IGNORE_EXCEPTIONS"] = True
        pool_kwargs = dict(options.get("CONNECTION_POOL_KWARGS") or {})
        pool_kwargs.setdefault("retry", Retry(NoBackoff(), 0))
        options["CONNECTION_POOL_KWARGS"] = pool_kwargs
        super().__init__(server, {**params, "OPTIONS": options})
        self._log_ignored_exceptions = False  # the breaker logs, one line at a time
        self._breaker = breaker_for(server, backoff=backoff)

    @property
    def client(self) -> Any:
        return _GuardedClient(super().client, self._breaker)

    def count_in_window(self, key: str, window: int) -> tuple[int, float] | None:
        """Counts one hit on ``key`` in ONE round trip to Redis; the rate limiters' counter.

        The window is ``window`` seconds from the key's first hit (a fixed window per client, not
        per clock minute). Returns the hits in the current window, this one included, and the seconds
        until the window ends; None when Redis cannot count (breaker open, outage, a bad reply): the
        failure goes to the breaker like any other cache call. One script (``COUNT_IN_WINDOW``), run by
        its digest: a single command is cheaper for the client than a pipeline of three.
        """
        if self._breaker.is_open():
            return None
        try:
            redis_client = super().client.get_client(write=True)
            redis_key = super().client.make_key(key)
            try:
                hits, left_ms = redis_client.evalsha(_COUNT_SHA, 1, redis_key, window)
            except NoScriptError:  # a restarted or flushed Redis: send the script itself (it is kept)
                hits, left_ms = redis_client.eval(COUNT_IN_WINDOW, 1, redis_key, window)
        except (RedisError, OSError) as exc:
            self._breaker.record_failure(exc)
            return None
        return int(hits), int(left_ms) / 1000
