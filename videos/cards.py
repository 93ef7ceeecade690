"""The markup of a video card and of a video's picture, rendered in Python.

Cards are the bulk of the feed pages (the home page shows up to ~100, ``/recommended/`` 50): as a
template include each card cost about half a millisecond of template machinery (variable lookups,
``{% blocktranslate %}``, URL reversing), most of a page's CPU. These functions write the same
markup directly; the templates use them through ``{% video_card %}`` and ``{% video_thumb %}``
(``videos.templatetags.site_extras``). Every text is escaped, the card's texts are translated with
the same message ids as the templates (looked up once per language and process), and a video's URL
comes from the reversed URL pattern (reversed once per script prefix).

A card reads ``video.completion`` (the viewer's furthest progress, attached by the views; absent or
None: not started) and, for a recommendation, the ``FeedItem`` (rank, match, reason).
"""

from __future__ import annotations

import functools
import re
from html import escape
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from videos import selectors
from videos.presentation import duration, finished, hue, monogram, percent

# Heading levels a card title may use (the page's outline decides).
HEADINGS = frozenset({"h2", "h3", "h4"})


@functools.lru_cache(maxsize=32)
def _video_url_parts(prefix: str) -> tuple[str, str]:
    # Reversed with a marker id: the URL of every video is head + id + tail.
    head, _marker, tail = reverse("video-detail", args=[987654321]).partition("987654321")
    return head, tail


def url_parts() -> tuple[str, str]:
    """What every video's URL is made of under the current script prefix (``video_url``'s ``parts``),
    for callers writing many cards."""
    return _video_url_parts(get_script_prefix())


@functools.lru_cache(maxsize=32)
def _escaped_parts(parts: tuple[str, str]) -> tuple[str, str]:
    # A video id is digits: an escaped head and tail make an escaped URL, without escaping each one.
    return escape(parts[0]), escape(parts[1])


def _video_href(pk: int, parts: tuple[str, str]) -> str:
    """``escape(video_url(pk, parts))``."""
    head, tail = _escaped_parts(parts)
    return f"{head}{int(pk)}{tail}"


def video_url(pk: int, parts: tuple[str, str] | None = None) -> str:
    """``Video.get_absolute_url`` without reversing the pattern for every video (``parts``: the
    ``_video_url_parts`` of the script prefix, when the caller has them)."""
    head, tail = parts if parts is not None else _video_url_parts(get_script_prefix())
    return f"{head}{int(pk)}{tail}"


@functools.lru_cache(maxsize=32)
def _texts(language: str) -> dict[str, str]:
    """The card's fixed texts in ``language`` (the active one when called), escaped for HTML."""
    return {
        key: escape(text)
        for key, text in {
            "rank": _("Rank"),
            "finished": _("Finished"),
            "watched": _("%(p)s %% watched"),
            "match": _("Match"),
            "match_value": _("%(p)s %%"),
            "match_label": _("Match %(p)s %%"),
            "see_all": _("See all"),
            "match_help": _(
                "On held-out watches, viewers finished on average this share of the videos the model rated "
                "like this one."
            ),
        }.items()
    } | {"because": _('Because you watched <a href="%(url)s">%(title)s</a>')}  # markup: not escaped


def thumb_html(video: Any, *, url: str | None = None) -> SafeString:
    """A video's picture: its thumbnail, or generated art (a colour pair and the title's monogram),
    with the duration and the viewer's progress. Decorative: the title is printed next to it."""
    return mark_safe(_thumb(video, escape(video_url(video.pk) if url is None else url)))


def _thumb(video: Any, href: str, slots: bool = False) -> str:
    """The picture's markup; ``href``: the video's URL, escaped."""
    if video.thumbnail_url:
        picture = f'<img src="{escape(video.thumbnail_url)}" alt="" loading="lazy">'
    else:
        picture = f'<span class="thumb-mono">{escape(monogram(video.title))}</span>'
    length = duration(video.duration_seconds)
    badge = f'<span class="duration-badge">{length}</span>' if length else ""
    if slots:
        progress = f"<!--progress-thumb:{int(video.pk)}-->"
    else:
        progress = _thumb_progress(getattr(video, "completion", None))
    return (
        f'<a href="{href}" class="thumb hue-{hue(video)}" tabindex="-1" aria-hidden="true">\n'
        f'  {picture}\n  <span class="play-mark"></span>\n  {badge}\n  {progress}\n</a>'
    )


def _thumb_progress(completion: float | None) -> str:
    if completion is None:
        return ""
    return f'<span class="thumb-progress"><span class="pct-{percent(completion)}"></span></span>'


def _status(completion: float | None, texts: dict[str, str]) -> str:
    if completion is None:
        return ""
    if finished(completion):
        return f' · <span class="status-chip finished">{texts["finished"]}</span>'
    watched = texts["watched"] % {"p": percent(completion)}
    return f' · <span class="status-chip started">{watched}</span>'


def _pick(rec: Any, texts: dict[str, str], url_parts: tuple[str, str]) -> str:
    """A recommendation's match figure and reason."""
    parts = []
    if rec.match is not None:
        p = percent(rec.match)
        parts.append(
            f'<div class="score" title="{texts["match_help"]}">\n'
            f"        <span>{texts['match']}</span><strong>{texts['match_value'] % {'p': p}}</strong>\n"
            f'        <span class="bar" role="img" aria-label="{texts["match_label"] % {"p": p}}">'
            f'<span class="pct-{p}"></span></span>\n      </div>'
        )
    reason_video = rec.reason_video
    if reason_video is not None:
        link = texts["because"] % {"url": _video_href(reason_video.pk, url_parts), "title": escape(reason_video.title)}
        parts.append(f'<p class="reason">{link}</p>')
    elif rec.reason_text:
        parts.append(f'<p class="reason">{escape(str(rec.reason_text))}</p>')
    return "\n      ".join(parts)


def card_html(
    video: Any,
    *,
    rec: Any = None,
    heading: str = "h3",
    progress_slots: bool = False,
    language: str | None = None,
    url_parts: tuple[str, str] | None = None,
) -> SafeString:
    """A video card: picture, title (with the rank for a pick), category, the viewer's progress and,
    for a recommendation ``rec`` (a ``FeedItem``), its match and reason. With ``progress_slots`` the
    progress is left as slots for ``progress_fill`` (a card shared by every viewer). Callers writing many
    cards pass the ``language`` and ``url_parts`` (``url_parts()``) they looked up once."""
    if heading not in HEADINGS:
        raise ValueError(f"card heading must be one of {sorted(HEADINGS)}, not {heading!r}")
    if language is None:  # the active one (callers writing many cards look it up once)
        language = get_language() or ""
    texts = _texts(language)
    parts = url_parts if url_parts is not None else _video_url_parts(get_script_prefix())
    href = _video_href(video.pk, parts)
    rank = f'<span class="rank" title="{texts["rank"]}">{int(rec.rank)}</span>' if rec is not None else ""
    category = escape(video.category.name_in(language)) if video.category_id is not None and video.category else ""
    link = f"{href}?from=rec" if rec is not None else href
    pick = _pick(rec, texts, parts) if rec is not None else ""
    if progress_slots:
        status = f"<!--progress-meta:{int(video.pk)}-->"
    else:
        status = _status(getattr(video, "completion", None), texts)
    return SafeString(  # already markup: mark_safe's lazy-string check costs more than the card's join
        f'<article class="video-card">\n  {_thumb(video, href, progress_slots)}\n  <div class="card-body">\n'
        f'    <{heading} class="card-title">{rank}<a href="{link}">{escape(video.title)}</a></{heading}>\n'
        f'    <p class="meta">{category}{status}</p>\n'
        f"    {pick}\n  </div>\n</article>\n"
    )


def shelf_html(
    shelf_id: str,
    title: Any,
    videos: Any,
    *,
    more_url: Any = None,
    sub: Any = None,
    progress_slots: bool = False,
) -> SafeString:
    """A titled row of video cards (``{% video_shelf %}``): the heading ``title`` (id ``shelf_id``), an
    optional "See all" link to ``more_url`` and line ``sub``, and a card per video of ``videos``
    (with ``progress_slots``: see ``card_html``). Texts are escaped unless already marked safe."""
    language = get_language() or ""
    texts = _texts(language)
    shelf = conditional_escape(shelf_id)
    more = f'<a href="{conditional_escape(more_url)}">{texts["see_all"]} →</a>' if more_url else ""
    line = f'<p class="shelf-sub">{conditional_escape(sub)}</p>' if sub else ""
    parts = url_parts()
    cards = "".join(
        card_html(video, progress_slots=progress_slots, language=language, url_parts=parts) for video in videos
    )
    return mark_safe(
        f'<section class="shelf" aria-labelledby="{shelf}">\n  <div class="shelf-head">\n'
        f'    <h2 id="{shelf}">{conditional_escape(title)}</h2>\n    {more}\n  </div>\n  {line}\n'
        f'  <div class="row">\n    {cards}\n  </div>\n</section>\n'
    )


_SLOT = re.compile(r"<!--progress-(thumb|meta):(\d+)-->")


def progress_fill(html: str, completions: dict[int, float]) -> SafeString:
    """Cards rendered with ``progress_slots`` with the viewer's progress (``completions``: video id ->
    furthest completion; a video not in it is not started)."""
    texts = _texts(get_language() or "")

    def fill(slot: re.Match) -> str:
        completion = completions.get(int(slot.group(2)))
        return _thumb_progress(completion) if slot.group(1) == "thumb" else _status(completion, texts)

    return mark_safe(_SLOT.sub(fill, html))


# The home page's catalog shelves (popular, new, one per category) are the same for every viewer: rendered
# once per language with progress slots and kept in the cache (Redis when configured, shared by every
# worker) for CATALOG_SECONDS (the popular shelf follows the watches within that time); dropped at once
# when a video or category is saved or deleted (``catalog_html_clear``, connected in ``videos.apps``).
# Bulk imports send no signals: their videos reach the shelves within CATALOG_SECONDS.
CATALOG_KEY = "videos:home-catalog"
CATALOG_SECONDS = 60


def catalog_html(*, shelf_size: int) -> tuple[str, list[int]]:
    """The home page's catalog shelves in the active language, with progress slots (``progress_fill``),
    and the ids of the videos on them."""
    key = f"{CATALOG_KEY}:{get_language() or ''}"
    cached = cache.get(key)
    if cached is not None and cached[0] == shelf_size:
        return cached[1], cached[2]
    popular, new, shelves = selectors.home_catalog(shelf_size=shelf_size)
    html = render_to_string("videos/_catalog_shelves.html", {"popular": popular, "new": new, "shelves": shelves})
    ids = sorted({v.pk for v in popular} | {v.pk for v in new} | {v.pk for _c, videos in shelves for v in videos})
    cache.set(key, (shelf_size, html, ids), CATALOG_SECONDS)
    return html, ids


def catalog_html_clear(**_signal: Any) -> None:
    """Drops the cached catalog shelves in every language (a signal receiver)."""
    cache.delete_many([f"{CATALOG_KEY}:{code}" for code, _name in settings.LANGUAGES])
