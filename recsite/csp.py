"""django-csp's middleware, with the site's fixed policy built once instead of once per response.

Nearly every response carries the settings' policy as it is: no nonce was asked for and no view
decorator (``csp_update`` on the API docs pages) changed it, so the header text is the same every
time. django-csp builds it anew for each response (a tenth of the CPU of a prepared
``GET /api/recommendations/``); :class:`CSPMiddleware` builds it once per policy setting and hands
every other response (a nonce, a decorator, an exempted debug page) to django-csp unchanged.
"""

from __future__ import annotations

import http.client
from typing import TYPE_CHECKING, Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponseBase

# What django-csp's decorators set on a response: any of them means a policy of its own.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
_DEBUG_EXEMPT = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)
# (header, setting, report only)
_HEADERS = (
    (HEADER, "CONTENT_SECURITY_POLICY", False),
    (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
)


class CSPMiddleware(BaseCSPMiddleware):
    """``csp.middleware.CSPMiddleware`` with the settings' policy cached per process (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # setting name -> (the setting's value it was built from, the header text)
        self._built: dict[str, tuple[Any, str]] = {}

    def _text(self, setting: str, report_only: bool) -> tuple[Any, str]:
        policy = getattr(settings, setting, None)
        built = self._built.get(setting)
        if built is None or built[0] is not policy:  # first use, or the setting was replaced
            built = self._built[setting] = (policy, build_policy(report_only=report_only))
        return built

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if (
            getattr(request, "_csp_nonce", None) is not None
            or (settings.DEBUG and response.status_code in _DEBUG_EXEMPT)
            or any(hasattr(response, name) for name in _PER_RESPONSE)
        ):
            return super().process_response(request, response)
        for header, setting, report_only in _HEADERS:
            policy, text = self._text(setting, report_only)
            if not text or header in response:
                continue
            prefixes = tuple((policy or {}).get("EXCLUDE_URL_PREFIXES") or ())
            if not (prefixes and request.path_info.startswith(prefixes)):
                response[header] = text
        # As django-csp does: a nonce asked for after the header is written is an error, not a no-op.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
