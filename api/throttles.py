"""Request rate limits, counted in the default cache (Redis when ``REDIS_URL`` is set).

DRF's throttles read their rates once, at import; these read ``REST_FRAMEWORK
["DEFAULT_THROTTLE_RATES"]`` on every request, so a changed setting applies at once. When the
cache is unreachable the cache calls fail softly (see the CACHES setting) and requests pass
unthrottled rather than failing.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle


class _RateFromSettings:
    scope: str

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Anonymous clients, per IP address (``anon`` rate)."""

    scope = "anon"


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Authenticated clients, per user (``user`` rate)."""

    scope = "user"


class EventWriteThrottle(_RateFromSettings, UserRateThrottle):
    """Watch-event writes (single and bulk requests), per user: the tighter ``events`` rate."""

    scope = "events"


class TokenObtainThrottle(_RateFromSettings, SimpleRateThrottle):
    """Password checks for a token, per client address whoever asks (``auth`` rate): slows down
    password guessing, also from a logged-in session."""

    scope = "auth"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
