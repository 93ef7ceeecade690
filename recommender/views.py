"""The "Recommended for you" page: a plain read of what the active model version published."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from recommender import selectors
from videos import selectors as video_selectors

FALLBACK_SIZE = 12


@login_required
def recommended(request):
    user = request.user
    version = selectors.active_version()
    recommendations = list(
        selectors.recommendations_for_user(
            user=user, version=version, limit=settings.RECOMMENDATIONS_TOP_N, exclude_finished=True
        )
    )
    continuing = video_selectors.continue_watching(user=user, limit=8)
    # A recommended video may have been started since the version was published: show how far.
    progress = video_selectors.user_completions(user=user, video_ids={r.video_id for r in recommendations})
    for rec in recommendations:
        rec.video.completion = progress.get(rec.video_id)

    # Why there is nothing personal to show, so the page can say so.
    fallback_reason = ""
    fallback = []
    if not recommendations:
        summary = video_selectors.watch_summary(user=user)
        if version is None:
            fallback_reason = "no_model"
        elif summary["events"] == 0:
            fallback_reason = "no_history"
        elif selectors.version_has_user(user=user, version=version):
            fallback_reason = "all_finished"
        else:
            fallback_reason = "not_in_model"
        finished = set(video_selectors.finished_video_ids(user=user).values_list("video_id", flat=True))
        fallback = [
            v for v in video_selectors.popular_videos(limit=FALLBACK_SIZE + len(finished)) if v.pk not in finished
        ]
        fallback = fallback[:FALLBACK_SIZE]
        progress = video_selectors.user_completions(user=user, video_ids={v.pk for v in fallback})
        for video in fallback:
            video.completion = progress.get(video.pk)
    return render(
        request,
        "recommender/recommended.html",
        {
            "version": version,
            "recommendations": recommendations,
            "continuing": continuing,
            "fallback": fallback,
            "fallback_reason": fallback_reason,
        },
    )
