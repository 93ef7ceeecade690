"""Small presentation helpers for the site's templates."""

from __future__ import annotations

import math
from typing import Any

from django import template
from django.conf import settings

register = template.Library()


@register.filter
def percent(value: Any) -> int:
    """A share in [0, 1] as a whole percentage (0.834 -> 83); anything unusable -> 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(number):
        return 0
    return max(0, min(100, round(number * 100)))


@register.filter
def finished(completion: Any) -> bool:
    """Whether a completion counts as finished (at least ``FINISHED_COMPLETION``)."""
    try:
        return completion is not None and float(completion) >= settings.FINISHED_COMPLETION
    except (TypeError, ValueError):
        return False


@register.filter
def hue(video: Any) -> int:
    """A stable colour hue (0..359) for a video's generated placeholder thumbnail."""
    key = getattr(video, "pk", None) or 0
    return (int(key) * 137) % 360


@register.filter
def monogram(title: Any) -> str:
    """The first letter or digit of a title ("The Story of the Blues" -> "S"), for generated art."""
    words = str(title or "").split()
    if len(words) > 1 and words[0].lower() in {"a", "an", "the"}:
        words = words[1:]
    for char in "".join(words):
        if char.isalnum():
            return char.upper()
    return ""


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as m:ss or h:mm:ss; empty for an unknown (0) length."""
    try:
        total = int(seconds)
    except (TypeError, ValueError):
        return ""
    if total <= 0:
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` or None, for dictionaries passed to templates."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def undo_id(message: Any) -> int | None:
    """The watch event a message offers to restore ("undo:123" among its extra tags), or None."""
    for tag in str(getattr(message, "extra_tags", "") or "").split():
        name, _sep, value = tag.partition(":")
        if name == "undo" and value.isdigit():
            return int(value)
    return None


@register.simple_tag
def video_card(video: Any, rec: Any = None, heading: str = "h3", progress_slots: bool = False) -> str:
    """``{% video_card video rec heading %}``: a video card (``videos.cards.card_html``)."""
    from videos.cards import card_html

    return card_html(video, rec=rec, heading=heading, progress_slots=bool(progress_slots))


@register.simple_tag
def video_thumb(video: Any) -> str:
    """``{% video_thumb video %}``: a video's picture (``videos.cards.thumb_html``)."""
    from videos.cards import thumb_html

    return thumb_html(video)
