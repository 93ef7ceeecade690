"""``GET /api/recommendations/``: the viewer's feed (``recommender.feed``), as the pages show it.

Item fields: ``rank``, ``score`` (the model's raw ranking score for the version's training objective,
with the version's ``recent_boost`` included; not a completion; null in the popular fallback),
``match`` (the viewer-facing figure: the share of the video that viewers with picks of this score
watched on held-out data, 0..1; null when the version has no calibration or in the fallback),
``reason`` (text in the request's language), ``reason_detail`` (the reason as data) and
``reason_video``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from api.pagination import query_int
from api.serializers import MAX_RECOMMENDATIONS, RECOMMENDATION_SOURCES, VideoBriefSerializer, VideoSerializer
from recommender.feed import (
    FEED_READ_COLUMNS,
    FeedRead,
    feed_read_from_row,
    feed_read_params,
    feed_read_sql,
    json_text,
    recommendation_feed_data,
)
from recommender.models import ModelVersion

MATCH_HELP = (
    "The viewer-facing figure, 0 to 1: on held-out watches, viewers completed on average this share of "
    "the videos the model scored like this one (an isotonic map of the raw score, fitted at retrain). "
    "Null when the version has no calibration and in the popular fallback."
)


class RecommendationQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False,
        default=20,
        min_value=1,
        max_value=MAX_RECOMMENDATIONS,
        help_text="How many recommendations (at most the number each model version stores per user).",
    )
    offset = serializers.IntegerField(required=False, default=0, min_value=0, help_text="Skip this many (paging).")


class ModelVersionBriefSerializer(serializers.ModelSerializer):
    trained_at = serializers.DateTimeField(
        source="finished_at", read_only=True, allow_null=True, help_text="When its training finished."
    )

    class Meta:
        model = ModelVersion
        fields = ["id", "trained_at", "activated_at", "objective", "architecture"]


_datetime_field = serializers.DateTimeField()


def model_version_brief(version: ModelVersion) -> dict[str, Any]:
    """``ModelVersionBriefSerializer(version).data`` without building a ModelSerializer per request."""
    return {
        "id": version.pk,
        "trained_at": _datetime_field.to_representation(version.finished_at),
        "activated_at": _datetime_field.to_representation(version.activated_at),
        "objective": version.objective,
        "architecture": version.architecture,
    }


class ReasonDetailSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["because_you_watched", "viewers_like_you", "popular", "trending_in_category"],
        help_text="because_you_watched: the watched video most like this pick (in `video`); viewers_like_you: "
        "a model pick with no similar enough watched video; popular / trending_in_category (in `category`): "
        "the cold-start fallback.",
    )
    video = VideoBriefSerializer(required=False, help_text="because_you_watched only.")
    category = serializers.JSONField(required=False, help_text="trending_in_category only: {slug, name}.")


class RecommendationItemSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 = best.")
    score = serializers.FloatField(
        allow_null=True,
        help_text="The model's raw ranking score for the version's objective, its recent_boost included "
        "(not a completion; for ranking only); null in the popular fallback.",
    )
    match = serializers.FloatField(allow_null=True, help_text=MATCH_HELP)
    video = VideoSerializer()
    reason = serializers.CharField(
        help_text="Why this video is suggested, in the request's language (Accept-Language)."
    )
    reason_detail = ReasonDetailSerializer(help_text="The reason as data.")
    reason_video = VideoBriefSerializer(allow_null=True, help_text="The watched video that explains it, if any.")


class RecommendationListSerializer(serializers.Serializer):
    cold_start = serializers.BooleanField(
        help_text="True when the model has nothing for this user yet and the results are the most popular videos."
    )
    source = serializers.ChoiceField(
        choices=RECOMMENDATION_SOURCES, help_text="model: the trained model's list; popular: the cold-start fallback."
    )
    model_version = ModelVersionBriefSerializer(
        allow_null=True, help_text="The active model version, or null when none has been trained yet."
    )
    language = serializers.CharField(help_text="The language of the reason texts.")
    results = RecommendationItemSerializer(many=True)


class FeedWithToken:
    """The viewer's feed (``recommender.feed.feed_read``) read in the token's query on PostgreSQL
    (``api.authentication.TokenLateral``): one database round trip for the whole request."""

    def sql(self) -> str:
        return feed_read_sql("u.id")

    def params(self) -> list[Any]:
        return feed_read_params(get_language() or "")

    def found(self, request: Any, values: tuple) -> None:
        assert len(values) == FEED_READ_COLUMNS
        request.feed_read = feed_read_from_row(values, get_language() or "")


class RecommendationsView(APIView):
    token_lateral = FeedWithToken()  # the token authentication reads the feed in the same query

    @extend_schema(
        parameters=[RecommendationQuerySerializer],
        responses=RecommendationListSerializer,
        summary="Your recommendations",
        description=(
            "Your feed, exactly as the site's Recommended page and home shelf list it: the active model "
            "version's picks, best first, without videos you have finished since. When the model has nothing "
            "for you yet (a new account, or no model trained), the most popular videos you have not finished "
            "come back instead with `cold_start: true` and `source: popular`. `score` is the raw model score "
            "(kept for ranking and debugging); `match` is the figure to show a viewer. " + MATCH_HELP
        ),
        tags=["recommendations"],
    )
    def get(self, request: Request) -> HttpResponse:
        # Parsed by hand on this hot path; RecommendationQuerySerializer documents the same rules.
        limit = query_int(request, "limit", minimum=1, maximum=MAX_RECOMMENDATIONS) or 20
        offset = query_int(request, "offset", minimum=0, maximum=10_000) or 0
        # The items come as JSON text ready to send (a prepared feed's stored items, or feed_item_data
        # of the live feed serialised): the body is put together, not rendered.
        read: FeedRead | None = getattr(request, "feed_read", None)
        feed, results = recommendation_feed_data(user=request.user, limit=limit, offset=offset, read=read)
        head = json_text(
            {
                "cold_start": feed.cold_start,
                "source": feed.source,
                "model_version": model_version_brief(feed.version) if feed.version is not None else None,
                "language": get_language(),
            }
        )
        body = f'{head[:-1]},"results":[{",".join(results)}]}}'
        return HttpResponse(body.encode(), content_type="application/json")
