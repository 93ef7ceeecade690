"""OpenAPI generation: every operation documents the error responses it can actually return.

drf-spectacular documents the success responses; this schema class adds the 4xx ones (with the
error body of ``api.exceptions``) from what each view really does, so that the published schema,
and the Schemathesis run against it, cover every status code a client can see.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiResponse
from rest_framework.permissions import AllowAny

from api.serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `detail` names the first problem, `errors` lists them all.",
    "401": "No valid credentials were sent (missing or unknown token).",
    "403": "Authenticated, but not allowed (for example not staff, or a session request without its CSRF token).",
    "404": "No such object for this user, or a page past the last one.",
    "409": "The request conflicts with the current state.",
    "413": "The request body is larger than the configured limit.",
    "415": "The request body is not JSON.",
    "429": "Too many requests; retry after the number of seconds in the Retry-After header.",
}


class ApiAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[code]), code, direction=direction
                )
        return responses

    def _error_codes(self) -> list[str]:
        view = self.view
        codes = []
        has_body = self.method in ("POST", "PUT", "PATCH") and self._get_request_body() is not None
        has_query = any(p["in"] == "query" for p in self._get_parameters())
        if has_body or has_query:
            codes.append("400")
        if view.get_authenticators():
            codes.append("401")
        open_to_all = all(isinstance(p, AllowAny) for p in view.get_permissions())
        if not open_to_all or self.method not in ("GET", "HEAD", "OPTIONS"):
            codes.append("403")
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        if has_body:
            codes.extend(["413", "415"])
        if view.get_throttles():
            codes.append("429")
        return codes
