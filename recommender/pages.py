"""Pages that combine the catalog with recommendations: the home page and the video page.

They live on the recommender side so that ``videos`` never imports ``recommender``; the catalog
parts come from ``videos.selectors`` / ``videos.views``, the picks from ``recommender.feed``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from recommender.feed import FeedItem, recommendation_feed
from videos import selectors
from videos.cards import catalog_html, progress_fill
from videos.models import Video
from videos.views import SHELF_SIZE, _detail_context

# How far down the feed the video page looks for the pick the viewer came from.
FROM_REC_DEPTH = 50


def home(request: HttpRequest) -> HttpResponse:
    """Sections: continue watching, recommended for you, popular, new, then one shelf per category."""
    if request.GET.get("q", "").strip():
        # An old bookmark or a form without JavaScript: searching lives on the catalog page.
        return redirect(f"{reverse('video-list')}?{request.GET.urlencode()}")
    recommendations: list[FeedItem] = []
    continuing: list[Video] = []
    cold_start = False
    if request.user.is_authenticated:
        feed = recommendation_feed(user=request.user, limit=SHELF_SIZE)
        recommendations, cold_start = feed.items, feed.cold_start
        continuing = selectors.continue_watching(user=request.user, limit=SHELF_SIZE)
    # The catalog shelves are shared by every viewer (cached HTML); the viewer's progress goes into
    # their slots, read in the same query as the progress on the picks.
    catalog, catalog_ids = catalog_html(shelf_size=SHELF_SIZE)
    progress = selectors.user_completions(
        user=request.user, video_ids={*catalog_ids, *(item.video.pk for item in recommendations)}
    )
    for item in recommendations:
        item.video.completion = progress.get(item.video.pk)
    return render(
        request,
        "videos/home.html",
        {
            "recommendations": recommendations,
            "recommendations_cold_start": cold_start,
            "continuing": continuing,
            "catalog": progress_fill(catalog, progress),
        },
    )


def _pick_of(request: HttpRequest, video: Video) -> FeedItem | None:
    """The viewer's pick for ``video`` when they came from a recommendation (``?from=rec``)."""
    if request.GET.get("from") != "rec" or not request.user.is_authenticated:
        return None
    feed = recommendation_feed(user=request.user, limit=FROM_REC_DEPTH)
    return next((item for item in feed.items if item.video.pk == video.pk), None)


def video_detail(request: HttpRequest, pk: int) -> HttpResponse:
    video = get_object_or_404(Video.objects.select_related("category"), pk=pk)
    context: dict[str, Any] = _detail_context(request, video)
    context["pick"] = _pick_of(request, video)
    return render(request, "videos/video_detail.html", context)
