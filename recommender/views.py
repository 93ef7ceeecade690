from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from recommender import selectors
from videos.selectors import popular_videos


@login_required
def recommended(request):
    version = selectors.active_version()
    recommendations = list(
        selectors.recommendations_for_user(user=request.user, version=version, limit=settings.RECOMMENDATIONS_TOP_N)
    )
    fallback = [] if recommendations else list(popular_videos(limit=12))
    return render(
        request,
        "recommender/recommended.html",
        {"version": version, "recommendations": recommendations, "fallback": fallback},
    )
