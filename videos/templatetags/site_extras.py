"""Small presentation helpers for the site's templates."""

from __future__ import annotations

from typing import Any

from django import template

from videos import cards, presentation

register = template.Library()


# The same functions as the Python-rendered cards use (videos.presentation).
register.filter("percent", presentation.percent)
register.filter("finished", presentation.finished)
register.filter("hue", presentation.hue)
register.filter("monogram", presentation.monogram)
register.filter("duration", presentation.duration)


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
    return cards.card_html(video, rec=rec, heading=heading, progress_slots=bool(progress_slots))


@register.simple_tag
def video_shelf(
    shelf_id: str, title: Any, videos: Any, more_url: Any = None, sub: Any = None, progress_slots: bool = False
) -> str:
    """``{% video_shelf shelf_id title videos more_url=... sub=... progress_slots=... %}``: a titled row of
    video cards (``videos.cards.shelf_html``)."""
    return cards.shelf_html(shelf_id, title, videos, more_url=more_url, sub=sub, progress_slots=bool(progress_slots))


@register.simple_tag
def video_thumb(video: Any) -> str:
    """``{% video_thumb video %}``: a video's picture (``videos.cards.thumb_html``)."""
    return cards.thumb_html(video)
