"""Refuse hostile text before any view, form or query sees it.

A NUL character or a lone surrogate in the address, a query parameter, a form field or a header
is answered with 400 and one readable sentence naming where it was: JSON (``{"detail", "code",
"errors"}``) for the API and for clients that send or ask for JSON, plain text otherwise. Percent
escapes that are not UTF-8 (an encoded surrogate among them) in a query string or a URL-encoded
form are refused the same way, instead of being silently turned into U+FFFD. JSON bodies are
checked where they are parsed (``core.safe_input.loads_bounded``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

from core.safe_input import text_error

logger = logging.getLogger(__name__)
# Names longer than this are not echoed back in a message.
_MAX_NAME_IN_MESSAGE = 64


def _not_utf8() -> str:
    return _("Percent escapes and bytes must form valid UTF-8 text.")


class _Refusal(Exception):
    def __init__(self, where: str, field: str, message: str, status: int = 400):
        super().__init__(message)
        self.where = where
        self.field = field
        self.message = message
        self.status = status


class HostileInputMiddleware:
    """Answer 400 to requests whose path, query string, form fields or headers hold unusable text."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            _check_path(request)
            _check_headers(request)
            _check_query(request)
            _check_form(request)
        except _Refusal as refusal:
            return _refuse(request, refusal)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The database refused a value taken from the request: a 400, not a 500.

        The last net under the checks above and the forms' own validation, e.g. for an integer
        beyond 64 bits in an admin filter on a relation (``?category=99…9``), which Django's ORM
        hands to SQLite unchecked. Logged with its traceback, since it means a check is missing.
        """
        if not isinstance(exception, (DataError, OverflowError)):
            return None
        logger.warning("Refused a request with a value the database cannot take: %s", exception, exc_info=exception)
        refusal = _Refusal(
            _("The request"), "__all__", _("A value is out of range or cannot be stored (check numbers and text).")
        )
        return _refuse(request, refusal)


def _name(name: str) -> str:
    """A parameter name safe to show: the name itself when it is short, harmless text."""
    if text_error(name) or len(name) > _MAX_NAME_IN_MESSAGE or not name.isprintable():
        return ""
    return name


def _check_pairs(pairs: Iterable[tuple[str, str]], *, kind: str, label: str) -> None:
    for key, value in pairs:
        name = _name(key)
        error = text_error(key, key=True)
        if error:
            raise _Refusal(label, kind, error)
        error = text_error(value)
        if error:
            raise _Refusal(_("%(label)s “%(name)s”") % {"label": label, "name": name}, name or kind, error)


def _check_path(request: HttpRequest) -> None:
    # Bytes of the path that are not UTF-8 never reach here as text: Django keeps them as literal
    # %XX escapes, which match no route (404).
    error = text_error(request.path_info)
    if error:
        raise _Refusal(_("The address"), "path", error)


def _check_headers(request: HttpRequest) -> None:
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            error = text_error(value)
            if error:
                header = key[5:].replace("_", "-").title()
                raise _Refusal(_("The header “%(name)s”") % {"name": header}, "headers", error)


def _strict_pairs(raw: bytes, *, label: str, kind: str) -> list[tuple[str, str]]:
    """Parse ``a=1&b=2`` as UTF-8, refusing escapes that are not (Django would replace them)."""
    try:
        text = raw.decode("utf-8")
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except UnicodeError:
        raise _Refusal(label, kind, _not_utf8()) from None
    except ValueError:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise _Refusal(
            label,
            kind,
            _("Too many fields (at most %(limit)d).") % {"limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS},
        ) from None


def _check_query(request: HttpRequest) -> None:
    raw = request.META.get("QUERY_STRING", "")
    if not raw:
        return
    label = _("The query parameter")
    if isinstance(raw, str):
        try:
            raw_bytes = raw.encode("iso-8859-1")  # WSGI: the bytes as Latin-1 text
        except UnicodeEncodeError:
            raw_bytes = raw.encode("utf-8")  # ASGI: already decoded as UTF-8
    else:
        raw_bytes = raw
    _check_pairs(_strict_pairs(raw_bytes, label=label, kind="query"), kind="query", label=label)


def _check_form(request: HttpRequest) -> None:
    if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
        return
    label = _("The form field")
    try:
        if request.content_type == "application/x-www-form-urlencoded":
            pairs = _strict_pairs(request.body, label=label, kind="form")
        elif request.content_type == "multipart/form-data":
            pairs = list(request.POST.items())
            pairs += [(key, upload.name or "") for key, upload in request.FILES.items()]
        else:
            return
    except RequestDataTooBig:
        raise _Refusal(_("The request"), "body", _("The request body is too large."), status=413) from None
    except (MultiPartParserError, SuspiciousOperation):
        raise _Refusal(_("The request"), "body", _("The form data could not be read.")) from None
    _check_pairs(pairs, kind="form", label=label)


def _wants_json(request: HttpRequest) -> bool:
    if request.content_type == "application/json":
        return True
    accept = request.headers.get("Accept", "")
    if "json" in accept and "html" not in accept:
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    # The REST API (the ``api`` app) always answers JSON.
    return getattr(match.func, "__module__", "").startswith("api.")


def _refuse(request: HttpRequest, refusal: _Refusal) -> HttpResponse:
    detail = f"{refusal.where}: {refusal.message}"
    if _wants_json(request):
        body = {"detail": detail, "code": "invalid", "errors": {refusal.field: [refusal.message]}}
        return JsonResponse(body, status=refusal.status)
    return HttpResponse(
        _("Bad request. %(detail)s") % {"detail": detail} + "\n",
        status=refusal.status,
        content_type="text/plain; charset=utf-8",
    )
