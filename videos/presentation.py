"""Small presentation helpers: how a share, a length, a title or a video is shown. The templates use
them as filters (``videos.templatetags.site_extras``), the Python-rendered cards directly."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings


def percent(value: Any) -> int:
    """A share in [0, 1] as a whole percentage (0.834 -> 83); anything unusable -> 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(number):
        return 0
    return max(0, min(100, round(number * 100)))


def finished(completion: Any) -> bool:
    """Whether a completion counts as finished (at least ``FINISHED_COMPLETION``)."""
    try:
        return completion is not None and float(completion) >= settings.FINISHED_COMPLETION
    except (TypeError, ValueError):
        return False


def hue(video: Any) -> int:
    """A stable colour hue (0..359) for a video's generated placeholder thumbnail."""
    key = getattr(video, "pk", None) or 0
    return (int(key) * 137) % 360


def monogram(title: Any) -> str:
    """The first letter or digit of a title ("The Story of the Blues" -> "S"), for generated art."""
    words = str(title or "").split()
    if len(words) > 1 and words[0].lower() in {"a", "an", "the"}:
        words = words[1:]
    for char in "".join(words):
        if char.isalnum():
            return char.upper()
    return ""


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
