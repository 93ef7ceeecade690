"""Login protection: failed password checks are counted in the database (django-axes).

Every surface that checks a password (the site's log-in page, the admin log-in, the API token
endpoint) calls ``authenticate(request=...)``; django-axes records each failure in its
``AccessAttempt`` table and refuses the next checks once a limit is reached. Being in the database,
the counts are shared by every web worker and hold while Redis is down.

Two limits apply, both within a sliding cool-off window (``AXES_COOLOFF_TIME``):

* ``AXES_FAILURE_LIMIT`` failures for one account from one client address, and
* ``LOGIN_FAILURE_LIMIT_PER_IP`` failures from one client address whatever the account, higher, so
  that the people behind one proxy or office network do not lock each other out.
"""

from __future__ import annotations

import ipaddress
import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework.settings import api_settings


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, as the API's rate limits see it.

    ``REST_FRAMEWORK["NUM_PROXIES"]`` (``API_NUM_PROXIES``) proxies in front of the site each append
    the address they received the request from to X-Forwarded-For, so the client is that many
    entries from the end; anything further left was written by the client and is ignored. With no
    proxy configured the header is not read at all. An entry that is not an IP address falls back
    to the peer address.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    num_proxies = api_settings.NUM_PROXIES or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if num_proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        candidate = hops[-min(num_proxies, len(hops))]
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return remote
    return remote


def cool_off_seconds(request: HttpRequest | None = None) -> int:
    cool_off = get_cool_off(request)
    return int(cool_off.total_seconds()) if cool_off else 0


class LoginLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a per-(account, address) and a per-address limit."""

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Recent failures on the per-account scale: at least ``AXES_FAILURE_LIMIT`` exactly when
        either limit is reached.

        django-axes compares one count with one limit; the per-address count is shifted by the
        difference of the two limits so that the same comparison covers both.
        """
        recent = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address,
            attempt_time__gte=request.axes_attempt_time - get_cool_off(request),
        )
        counts = recent.aggregate(
            per_address=Sum("failures_since_start"),
            per_account=Sum("failures_since_start", filter=Q(username=get_client_username(request, credentials))),
        )
        account_limit = get_failure_limit(request, credentials)
        shift = settings.LOGIN_FAILURE_LIMIT_PER_IP - account_limit
        return max(counts["per_account"] or 0, (counts["per_address"] or 0) - shift)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """After a successful log-in, forget that account's failures from that address only.

        The address's failures on other accounts stay counted: logging in to one's own account
        must not clear the count of someone guessing other passwords from the same address.
        """
        count, _deleted = AccessAttempt.objects.filter(
            username=get_client_username(request, credentials), ip_address=request.axes_ip_address
        ).delete()
        return count


class LoginLockoutBackend(AxesStandaloneBackend):
    """Refuses every password check, right or wrong, while the client is locked out.

    First in ``AUTHENTICATION_BACKENDS``; it authenticates nobody itself. A call without a request
    (Django's test client, a script) has no client address to count and passes through: every
    log-in surface of the site passes its request.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_message(request: HttpRequest | None = None) -> str:
    minutes = max(1, math.ceil(cool_off_seconds(request) / 60))
    return ngettext(
        "Too many failed log-in attempts. Try again in %(minutes)d minute.",
        "Too many failed log-in attempts. Try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _is_api_request(request: HttpRequest) -> bool:
    # Imported here: DRF's views import the throttles, which import this module.
    from rest_framework.views import APIView

    match = getattr(request, "resolver_match", None)
    view_class = getattr(getattr(match, "func", None), "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, APIView)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """What a locked-out client gets (``AXES_LOCKOUT_CALLABLE``): HTTP 429 with the cool-off time,
    as the API's JSON error body or as the site's page."""
    seconds = cool_off_seconds(request)
    if _is_api_request(request):
        response = JsonResponse({"detail": lockout_message(request), "code": "locked_out"}, status=429)
    else:
        context = {
            "heading": _("Log-in paused"),
            "message": lockout_message(request),
            "hint": _(
                "This protects accounts against password guessing. If you forgot your password, "
                "ask the site's operators to reset it."
            ),
        }
        response = render(request, "registration/too_many_attempts.html", context, status=429)
    response["Retry-After"] = str(seconds)
    response["Cache-Control"] = "no-store"
    return response
