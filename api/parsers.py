"""Request body parsing for the API: JSON only, with the body size and nesting depth capped."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import JSONParser, get_encoding

from api.exceptions import PayloadTooLarge
from core.safe_input import JSONInputError, loads_bounded


class BoundedJSONParser(JSONParser):
    """JSON bodies of at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, parsed by the site's one JSON loader.

    DRF hands parsers the raw request stream, which bypasses the size check Django applies to
    ``request.body``; without this cap a client could make the server buffer any amount of JSON.
    ``core.safe_input.loads_bounded`` then refuses documents nested more than 32 levels deep
    (before parsing, so the parser never recurses into ``[[[[…]]]]``), ``NaN``/``Infinity`` and
    strings holding a NUL character or a lone surrogate, which could be neither stored in
    PostgreSQL nor echoed back in a response.
    """

    def parse(
        self, stream: IO[bytes], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body: bytes | str
        if limit is not None:
            request = (parser_context or {}).get("request")
            meta = getattr(request, "META", {})
            try:
                declared = int(meta.get("CONTENT_LENGTH") or 0)
            except (TypeError, ValueError):
                declared = 0
            if declared > limit:
                raise PayloadTooLarge(limit=limit)
            body = stream.read(limit + 1)
            if len(body) > limit:
                raise PayloadTooLarge(limit=limit)
        else:
            body = stream.read()
        # The request's charset (text codecs only; DRF refuses the others), UTF-8 by default.
        encoding = get_encoding(parser_context or {})
        try:
            if codecs.lookup(encoding).name != "utf-8":
                body = body.decode(encoding)
            return loads_bounded(body, allow_nan=not self.strict)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding}: {exc.reason}.") from None
        except JSONInputError as exc:
            if exc.path:
                # A string inside the document: name its field, as a validation error does.
                raise ValidationError({exc.field: [exc.message]}) from None
            raise ParseError(f"JSON parse error - {exc.message}") from None
