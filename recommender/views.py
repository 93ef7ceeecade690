"""The "Recommended for you" page: the viewer's feed (``recommender.feed``), grouped into rows."""

from __future__ import annotations

from html import escape
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from recommender import selectors
from recommender.feed import FeedItem, recommendation_feed
from videos import selectors as video_selectors
from videos.cards import card_html, url_parts

FALLBACK_SIZE = 12
# A "Because you watched X" row needs at least this many picks explained by X.
ROW_MIN_ITEMS = 2
MAX_REASON_ROWS = 3


def feed_rows(items: list[FeedItem]) -> list[dict[str, Any]]:
    """Rows as on the services people know: "Top picks for you" (the best picks, in feed order),
    then "Because you watched X" for the watched videos that explain several picks. Every item
    appears in exactly one row; within a row the feed's order is kept."""
    by_reason: dict[int, list[FeedItem]] = {}
    for item in items:
        if item.reason.get("kind") == "because_you_watched":
            by_reason.setdefault(item.reason["video"]["id"], []).append(item)
    grouped = [group for group in by_reason.values() if len(group) >= ROW_MIN_ITEMS]
    grouped.sort(key=lambda group: group[0].rank)
    grouped = grouped[:MAX_REASON_ROWS]
    in_rows = {id(item) for group in grouped for item in group}
    rows: list[dict[str, Any]] = []
    top = [item for item in items if id(item) not in in_rows]
    if top:
        rows.append({"id": "top-picks", "title": _("Top picks for you"), "items": top, "reason_video": None})
    for group in grouped:
        video = group[0].reason_video
        title = _("Because you watched “%(title)s”") % {"title": group[0].reason["video"]["title"]}
        row_id = f"because-{video.pk if video else 0}"
        rows.append({"id": row_id, "title": title, "items": group, "reason_video": video})
    return rows


def rows_html(rows: list[dict[str, Any]]) -> SafeString:
    """The rows of ``feed_rows`` as page sections with their cards (``videos.cards.card_html``), written
    in one pass: fifty ``{% video_card %}`` tags in template loops cost a tenth of the page's CPU."""
    sections = []
    language, parts = get_language() or "", url_parts()
    for position, row in enumerate(rows):
        row_id = escape(f"row-{row['id']}")
        grid_id = ' id="top-picks-grid"' if position == 0 else ""
        cards = "".join(card_html(item.video, rec=item, language=language, url_parts=parts) for item in row["items"])
        sections.append(
            f'<section aria-labelledby="{row_id}" class="feed-row">\n'
            f'    <div class="shelf-head"><h2 id="{row_id}">{escape(str(row["title"]))}</h2></div>\n'
            f'    <div class="grid recommendations"{grid_id}>\n      {cards}\n    </div>\n  </section>'
        )
    return SafeString("\n  ".join(sections))


def _fallback_reason(user: Any, version: Any) -> str:
    """Why there is nothing personal to show, so the page can say so."""
    if version is None:
        return "no_model"
    if video_selectors.watch_summary(user=user)["events"] == 0:
        return "no_history"
    if selectors.version_has_user(user=user, version=version):
        return "all_finished"
    return "not_in_model"


@login_required
def recommended(request: HttpRequest) -> HttpResponse:
    user = request.user
    feed = recommendation_feed(user=user, limit=settings.RECOMMENDATIONS_TOP_N)
    continuing = video_selectors.continue_watching(user=user, limit=8)
    # A pick may have been started since the version was published: show how far (a prepared feed
    # was read with that progress).
    progress = feed.progress
    if progress is None:
        progress = video_selectors.user_completions(user=user, video_ids={item.video.pk for item in feed.items})
    for item in feed.items:
        item.video.completion = progress.get(item.video.pk)
    recommendations = [] if feed.cold_start else feed.items
    rows = feed_rows(recommendations)
    fallback = [item.video for item in feed.items[:FALLBACK_SIZE]] if feed.cold_start else []
    return render(
        request,
        "recommender/recommended.html",
        {
            "version": feed.version,
            "recommendations": recommendations,
            "rows": rows,
            "rows_html": rows_html(rows),
            "feed": feed.items,
            "continuing": continuing,
            "fallback": fallback,
            "fallback_items": feed.items if feed.cold_start else [],
            "fallback_reason": _fallback_reason(user, feed.version) if feed.cold_start else "",
        },
    )
