"""API errors: one JSON shape for every 4xx, and no request-size error ever becomes a 500.

Every error body is ``{"detail": "<one readable sentence>", "code": "<machine code>"}``; validation
errors add ``"errors"`` with the messages per field (or per item of a bulk request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

if TYPE_CHECKING:
    from rest_framework.response import Response


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is too large.")
    default_code = "payload_too_large"

    def __init__(self, limit: int | None = None) -> None:
        detail = None
        if limit:
            detail = _("The request body is too large (the limit is %(limit)d bytes).") % {"limit": limit}
        super().__init__(detail)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("The request conflicts with the current state.")
    default_code = "conflict"


class RetrainUnavailable(APIException):
    """Nothing could be queued: the task broker is unreachable or the retrain process did not start."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The retrain could not be queued; try again later.")
    default_code = "retrain_unavailable"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(*exc.args)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, DjangoValidationError):
        # A service refused the values: a client error with the service's message.
        exc = ValidationError(detail=as_serializer_error(exc))
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = error_body(exc, response.data)
    return response


def error_body(exc: APIException, data: Any) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        return {"detail": validation_summary(data), "code": "invalid", "errors": data}
    detail = data.get("detail") if isinstance(data, dict) else data
    codes = exc.get_codes()
    return {"detail": str(detail), "code": codes if isinstance(codes, str) else exc.default_code}


def validation_summary(errors: Any) -> str:
    """The first message of a validation error as one sentence, prefixed with its field name."""
    path: list[str] = []
    node = errors
    while True:
        if isinstance(node, dict) and node:
            key, node = next(iter(node.items()))
            if key != "non_field_errors":
                path.append(str(key))
        elif isinstance(node, list) and node:
            node = node[0]
        else:
            break
    if not isinstance(node, str) or not node:
        return str(_("Invalid input."))
    return f"{'.'.join(path)}: {node}" if path else str(node)
