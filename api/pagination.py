"""Page-number pagination with strict parameters: a bad ``page`` or ``page_size`` is a 400, not ignored."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

if TYPE_CHECKING:
    from django.core.paginator import Paginator
    from rest_framework.request import Request
    from rest_framework.views import APIView

_DIGITS = re.compile(r"[0-9]{1,18}")


def query_int(request: Request, name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    """A whole-number query parameter (given at most once), or None when absent; else a 400."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise ValidationError({name: ["Give this parameter at most once."]}, code="invalid")
    raw = values[0]
    value = int(raw) if _DIGITS.fullmatch(raw) else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ValidationError({name: [f"Must be a whole number {bound}."]}, code="invalid")
    return value


class StrictPageNumberPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    page_query_description = "Page number, from 1. A page past the last one is a 404."
    page_size_query_description = "Results per page (default 20, at most 100)."

    def get_page_size(self, request: Request) -> int:
        size = query_int(request, self.page_size_query_param, minimum=1, maximum=self.max_page_size)
        return size or self.page_size

    def get_page_number(self, request: Request, paginator: Paginator) -> int:
        # Up to 18 digits: more could never name an existing page and only cost parsing.
        return query_int(request, self.page_query_param, minimum=1) or 1

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        page, size = super().get_schema_operation_parameters(view)
        page["schema"] = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
        size["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return [page, size]
