"""Request rate limits, counted in the default cache (Redis when ``REDIS_URL`` is set).

DRF's throttles read their rates once, at import; these read ``REST_FRAMEWORK
["DEFAULT_THROTTLE_RATES"]`` on every request, so a changed setting applies at once.

On Redis (``recsite.cache.ResilientRedisCache``) each limit is a counter in a fixed window that
opens at the client's first request: one round trip per request and limit (DRF's own limiter reads
and rewrites a list of timestamps, two round trips). A client gets at most the rate's number of
requests per window, and up to twice that across the end of one window and the start of the
next. Other caches (the per-process memory of the zero-setup default) use DRF's sliding window.
When the cache is unreachable the cache calls fail softly (see the CACHES setting) and requests pass
unthrottled rather than failing. These limits smooth the load; the limit on password guessing that
must always hold is the database-backed log-in lockout (``accounts.lockout``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from accounts.lockout import client_ip

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class _RateFromSettings(SimpleRateThrottle):
    scope: str
    _window_left: float | None = None

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: APIView) -> bool:
        count_in_window = getattr(self.cache, "count_in_window", None)
        if count_in_window is None:
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        counted = count_in_window(f"window:{self.key}", self.duration)
        if counted is None:
            return True  # Redis cannot count now: pass (the cache logs the outage)
        hits, self._window_left = counted
        return hits <= self.num_requests

    def wait(self) -> float | None:
        if self._window_left is not None:
            return self._window_left
        return super().wait()

    def get_ident(self, request: Request) -> str:
        # The same client address as the log-in lockout (it honours NUM_PROXIES the same way).
        return client_ip(request) or ""


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Anonymous clients, per IP address (``anon`` rate)."""

    scope = "anon"


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Authenticated clients, per user (``user`` rate)."""

    scope = "user"


class EventWriteThrottle(_RateFromSettings, UserRateThrottle):
    """Watch-event writes (single and bulk requests), per user: the tighter ``events`` rate."""

    scope = "events"


class TokenObtainThrottle(_RateFromSettings):
    """Password checks for a token, per client address whoever asks (``auth`` rate): slows down
    password guessing, also from a logged-in session. Counted per cache, so per web worker when
    there is no Redis; the lockout after repeated failures is counted in the database."""

    scope = "auth"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
