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
from videos.models import Video
from videos.views import SHELF_SIZE, _attach_progress, _detail_context

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
    popular, new, shelves = selectors.home_catalog(shelf_size=SHELF_SIZE)
    _attach_progress(
        request,
        [r.video for r in recommendations] + popular + new + [v for _c, videos in shelves for v in videos],
    )
    return render(
        request,
        "videos/home.html",
        {
            "recommendations": recommendations,
            "recommendations_cold_start": cold_start,
            "continuing": continuing,
            "popular": popular,
            "new": new,
            "shelves": shelves,
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
