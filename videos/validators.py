"""Rules for watch-event values shared by the player endpoint, the API and the admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from recsite.safe_input import text_error
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
