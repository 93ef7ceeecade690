"""Rules for watch-event values shared by the player endpoint, the API and the admin."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.safe_input import text_error
from videos.models import WatchEvent

CLIENT_EVENT_ID_MAX_LENGTH: int = WatchEvent._meta.get_field("client_event_id").max_length


def validate_client_event_id(value: object) -> None:
    """A client event id is printable text of at most 64 characters (no NUL, no control characters).

    Raises ``ValidationError`` with one readable message otherwise. ``None`` and "" mean "no id"
    and pass.
    """
    if value is None or value == "":
        return
    if not isinstance(value, str):
        raise ValidationError(_("Client event id must be text."), code="invalid")
    if len(value) > CLIENT_EVENT_ID_MAX_LENGTH:
        raise ValidationError(
            _("Client event id is at most %(limit)d characters (it has %(length)d).")
            % {"limit": CLIENT_EVENT_ID_MAX_LENGTH, "length": len(value)},
            code="max_length",
        )
    error = text_error(value)
    if error:
        raise ValidationError(error, code="invalid_text")
    if not value.isprintable():
        raise ValidationError(
            _("Client event id must be printable text (no line breaks, tabs or control characters)."),
            code="not_printable",
        )


def parse_completion(value: object) -> float:
    """Return ``value`` as a finite float in [0, 1] or raise ValidationError.

    Booleans, NaN, infinities and strings that only look numeric ("nan", "inf", "1e400") are refused.
    """
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationError(_("Completion must be a number between 0 and 1."), code="invalid")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int too large for a float
        raise ValidationError(_("Completion must be a number between 0 and 1."), code="invalid") from None
    if not math.isfinite(number):
        raise ValidationError(_("Completion must be a finite number."), code="not_finite")
    if not 0.0 <= number <= 1.0:
        raise ValidationError(_("Completion must be between 0 and 1."), code="out_of_range")
    return number
