"""The API documentation pages under the site's Content-Security-Policy.

Both pages show the API reference drawn on the server (api/reference.py) at once, and load their
interactive console only when the reader opens it (static/js/api-console.js). Swagger UI (/api/docs/)
and ReDoc (/api/redoc/) are third-party UIs served from this site
(drf-spectacular-sidecar), never from a CDN. Neither runs an inline script here: Swagger UI's
start-up script comes from the split view's ``?script`` URL, ReDoc's from static/js. Both draw
their icons as data: images. ReDoc also styles its elements by inserting <style> elements at run
time (styled-components), which cannot be avoided without patching it, so its page alone allows
inline styles; and it builds its search index in a worker started from a blob: URL.
"""

from __future__ import annotations

import hashlib
from functools import cache

from csp.decorators import csp_update
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

from api.reference import api_reference

SWAGGER_CSP = csp_update({"img-src": ["data:"]})
REDOC_CSP = csp_update({"img-src": ["data:"], "style-src": ["'unsafe-inline'"], "worker-src": ["blob:"]})

REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
# ReDoc's sidebar shows a small logo that its bundle loads from Redocly's CDN; the copy served here
# loads a local image instead (the content security policy allows images from this site only).
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def redoc_bundle_bytes() -> tuple[bytes, str]:
    """ReDoc's standalone bundle with the CDN logo replaced by a static file, and its short hash."""
    path = finders.find(REDOC_BUNDLE)
    if path is None:
        raise FileNotFoundError(f"{REDOC_BUNDLE} not found: is drf-spectacular-sidecar installed?")
    with open(path, "rb") as handle:
        content = handle.read().replace(REDOC_CDN_LOGO, static("img/redoc-logo.svg").encode())
    return content, hashlib.sha256(content).hexdigest()[:12]


@cache_control(public=True, max_age=365 * 24 * 3600, immutable=True)
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """The ReDoc bundle (versioned by its hash in the page's URL, so it may be cached for a year)."""
    content, _digest = redoc_bundle_bytes()
    return HttpResponse(content, content_type="text/javascript; charset=utf-8")


def with_reference(response: Response) -> Response:
    """An HTML documentation page's response with the server-drawn reference in its context."""
    if isinstance(response.data, dict) and "title" in response.data:
        response.data["reference"] = api_reference()
    return response


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI (its start-up script from ``?script``), the page with the reference drawn here."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return with_reference(super().get(request, *args, **kwargs))


class RedocView(SpectacularRedocView):
    """ReDoc, loading the bundle above instead of the sidecar's copy; the page with the reference."""

    @staticmethod
    def _redoc_standalone() -> str:
        _content, digest = redoc_bundle_bytes()
        return f"{reverse('api-redoc-bundle')}?v={digest}"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return with_reference(super().get(request, *args, **kwargs))


swagger_view = SWAGGER_CSP(SwaggerView.as_view(url_name="api-schema"))
redoc_view = REDOC_CSP(RedocView.as_view(url_name="api-schema"))
