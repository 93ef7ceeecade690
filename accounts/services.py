"""Sign-up rate limit, counted in the database so that it holds across web workers and while
Redis is down."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import SignupAttempt


def signup_attempt_register(*, ip_address: str | None) -> bool:
    """Count one sign-up submission from ``ip_address``; False when it is over the limit.

    At most ``SIGNUP_LIMIT_PER_IP`` submissions per address are accepted within any
    ``SIGNUP_LIMIT_WINDOW_MINUTES``. The attempt is stored (and committed) first and counted after:
    of concurrent submissions the last to count sees all the others, so a burst can never get
    more than the limit through. A refused attempt is removed again, so a client that keeps
    trying does not grow the table, and the limit lifts one window after the accepted attempts.
    """
    now = timezone.now()
    window_start = now - timedelta(minutes=settings.SIGNUP_LIMIT_WINDOW_MINUTES)
    SignupAttempt.objects.filter(attempted_at__lt=window_start).delete()
    attempt = SignupAttempt.objects.create(ip_address=ip_address, attempted_at=now)
    counted = SignupAttempt.objects.filter(ip_address=ip_address, attempted_at__gte=window_start).count()
    if counted <= settings.SIGNUP_LIMIT_PER_IP:
        return True
    attempt.delete()
    return False
