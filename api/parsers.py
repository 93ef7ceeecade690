"""Request body parsing for the API: JSON only, with the body size capped."""

from __future__ import annotations

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from api.exceptions import PayloadTooLarge


class BoundedJSONParser(JSONParser):
    """JSON bodies of at most ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes.

    DRF hands parsers the raw request stream, which bypasses the size check Django applies to
    ``request.body``; without this cap a client could make the server buffer any amount of JSON.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
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
            stream = io.BytesIO(body)
        try:
            return super().parse(stream, media_type=media_type, parser_context=parser_context)
        except RecursionError:
            # json.load recurses once per nesting level: "[[[[…]]]]" must be a client error, not a crash.
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
