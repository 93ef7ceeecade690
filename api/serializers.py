"""Shapes of the API's requests and responses.

Serializers only check types, ranges and presence; writes go through ``videos.services`` and
``recommender.services``, which own the rules (and, for completion, the same parser the pages use).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recommender.ml.config import Param, client_params
from recommender.models import COMPLETED_STATUSES, ModelVersion
from videos.models import Category, Video, WatchEvent
from videos.payload import VIDEO_VALUE_FIELDS, VideoData  # noqa: F401  (re-exported)
from videos.validators import CLIENT_EVENT_ID_MAX_LENGTH, parse_completion, validate_client_event_id

# Database ids are signed 64-bit integers; anything larger must never reach a query.
MAX_ID = 2**63 - 1
MAX_BULK_EVENTS = 1000
MAX_RECOMMENDATIONS = 100
# How far ahead of the server's clock a client's watched_at may be (clock skew).
FUTURE_TOLERANCE = timedelta(minutes=5)
RECOMMENDATION_SOURCES = ["model", "popular"]
OWNER_FIELDS = ("user", "user_id", "owner", "username")
OWNER_MESSAGE = "An event always belongs to the authenticated user; do not send this field."


# JSON bodies are typed: a field documented as a number takes a JSON number, a string field a JSON
# string. (DRF would quietly accept "12" or 12.0 for an integer and 12 for a string.)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    default_error_messages = {"invalid": "A number is required."}

    def to_internal_value(self, data: Any) -> float:  # type: ignore[return]  # DRF's untyped Field.fail() always raises
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        try:
            return super().to_internal_value(data)
        except OverflowError:
            self.fail("invalid")


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "A string is required."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "maxLength": CLIENT_EVENT_ID_MAX_LENGTH})
class ClientEventIdField(StrictCharField):
    """A client's own event id: the rule of ``videos.validators.validate_client_event_id`` (length, printable text)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validators", [validate_client_event_id])
        super().__init__(**kwargs)


class IdField(serializers.IntegerField):
    """A database id in a query string: a whole number from 1 to 2**63 - 1."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class BodyIdField(StrictIntegerField):
    """A database id in a JSON body: a JSON integer from 1 to 2**63 - 1."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


@extend_schema_field({"type": "number", "format": "double", "minimum": 0, "maximum": 1})
class CompletionField(serializers.Field):
    """Share of the video watched: a JSON number from 0 to 1 (no strings, booleans, NaN or infinities)."""

    default_error_messages = {"invalid": "Completion must be a number between 0 and 1."}

    def to_internal_value(self, data: Any) -> float:  # type: ignore[return]  # DRF's untyped Field.fail() always raises
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        try:
            return parse_completion(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages, code=exc.code) from None
        except OverflowError:  # an integer with hundreds of digits
            self.fail("invalid")

    def to_representation(self, value: float) -> float:
        return float(value)


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug"]


class VideoSerializer(serializers.ModelSerializer):
    category = CategorySerializer(read_only=True, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), source="tag_list", read_only=True)
    page_url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Video
        fields = [
            "id",
            "title",
            "description",
            "duration_seconds",
            "media_url",
            "thumbnail_url",
            "category",
            "tags",
            "created_at",
            "page_url",
        ]


# The recommendations endpoint is the API's hot path: it builds VideoSerializer's output straight
# from ``.values()`` rows (no model instances, no per-field serializer machinery), about ten times
# faster. ``videos.payload`` holds that code; tests/test_api.py checks that both give identical output.


class VideoBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Video
        fields = ["id", "title"]


class VideoQuerySerializer(serializers.Serializer):
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Case-insensitive match on the title."
    )
    category = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="Category slug (empty: all categories)."
    )
    ordering = serializers.ChoiceField(
        choices=["title", "-title", "created_at", "-created_at", "duration_seconds", "-duration_seconds"],
        required=False,
        default="title",
        help_text="Sort order; a leading '-' sorts descending.",
    )


class WatchEventSerializer(serializers.ModelSerializer):
    video = serializers.IntegerField(source="video_id", read_only=True)
    video_title = serializers.CharField(source="video.title", read_only=True)
    completion = CompletionField(read_only=True)

    class Meta:
        model = WatchEvent
        fields = ["id", "video", "video_title", "completion", "watched_at", "source", "client_event_id"]
        read_only_fields = fields


class WatchEventQuerySerializer(serializers.Serializer):
    video = IdField(required=False, help_text="Only events of this video.")


class WatchEventCreateSerializer(serializers.Serializer):
    """One watch by the requesting user. The owner is never taken from the body."""

    video = BodyIdField(help_text="Id of the watched video.")
    completion = CompletionField(help_text="Share of the video watched, from 0 to 1.")
    watched_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When it was watched (default: now); not in the future."
    )
    client_event_id = ClientEventIdField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Your own id for this event: a retry with the same id is stored once and returns the original.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, dict):
            named = [name for name in OWNER_FIELDS if name in data]
            if named:
                raise serializers.ValidationError({name: [OWNER_MESSAGE] for name in named})
        return super().to_internal_value(data)

    def validate_video(self, value: int) -> Video:
        videos = self.context.get("videos")
        video = videos.get(value) if videos is not None else Video.objects.filter(pk=value).first()
        if video is None:
            raise serializers.ValidationError(f"Video {value} does not exist.", code="does_not_exist")
        return video

    def validate_watched_at(self, value: datetime | None) -> datetime | None:
        if value is not None and value > timezone.now() + FUTURE_TOLERANCE:
            raise serializers.ValidationError("The watch time cannot be in the future.", code="future")
        return value


class WatchEventBulkCreateSerializer(serializers.Serializer):
    events = serializers.ListField(
        child=WatchEventCreateSerializer(),
        min_length=1,
        max_length=MAX_BULK_EVENTS,
        help_text=f"1 to {MAX_BULK_EVENTS} events, stored all together or not at all.",
    )


class WatchEventBulkItemSerializer(WatchEventSerializer):
    created = serializers.BooleanField(read_only=True, help_text="False when the client_event_id was already stored.")

    class Meta(WatchEventSerializer.Meta):
        fields = [*WatchEventSerializer.Meta.fields, "created"]
        read_only_fields = fields


class WatchEventBulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Events stored by this request.")
    existing = serializers.IntegerField(help_text="Events whose client_event_id had been stored before.")
    events = WatchEventBulkItemSerializer(many=True, help_text="One entry per submitted event, in order.")


class ModelVersionSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField(help_text="Finished share of the planned epochs (0 to 1).")

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "status",
            "stage",
            "epoch",
            "epochs_total",
            "progress",
            "triggered_by",
            "objective",
            "architecture",
            "hyperparameters",
            "n_users",
            "n_videos",
            "n_events",
            "n_interactions",
            "last_event_id",
            "n_recommendations",
            "metrics",
            "gate",
            "durations",
            "error",
            "created_at",
            "finished_at",
            "activated_at",
            "artifact_sha256",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.DOUBLE)
    def get_progress(self, obj: ModelVersion) -> float:
        if obj.status in COMPLETED_STATUSES:
            return 1.0
        if not obj.epochs_total:
            return 0.0
        return round(min(obj.epoch / obj.epochs_total, 1.0), 4)


class ModelVersionDetailSerializer(ModelVersionSerializer):
    class Meta(ModelVersionSerializer.Meta):
        fields = [*ModelVersionSerializer.Meta.fields, "history"]
        read_only_fields = fields


class ModelVersionQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ModelVersion.Status.choices, required=False)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "true or false is required."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class RetrainRequestSerializer(serializers.Serializer):
    """Optional training settings for this run; anything left out takes the configured default."""

    force = StrictBooleanField(
        required=False,
        default=False,
        help_text="Queue a retrain even when no event arrived since the active version was trained.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        # The training settings, their limits and help come from the one schema of the training
        # configuration (recommender.ml.config.SCHEMA), as the retrain command's options do.
        fields = super().get_fields()
        fields.update({param.name: _training_setting_field(param) for param in client_params()})
        return fields


def _training_setting_field(param: Param) -> serializers.Field:
    common: dict[str, Any] = {"required": False, "help_text": param.help}
    if param.kind == "choice":
        return serializers.ChoiceField(choices=list(param.choices), **common)
    if param.kind == "bool":
        return StrictBooleanField(**common)
    limits = {"min_value": param.minimum, "max_value": param.maximum}
    if param.kind == "int":
        return StrictIntegerField(**limits, **common)
    if param.kind == "float":
        return StrictFloatField(**limits, **common)
    return serializers.ListField(child=StrictIntegerField(**limits), min_length=1, max_length=param.max_items, **common)


class RetrainTicketSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["queued", "skipped"],
        help_text="queued: a model version waits for its worker; skipped: nothing new to learn, nothing queued.",
    )
    version = serializers.IntegerField(
        allow_null=True, help_text="Id of the queued model version (follow it at /api/models/{id}/); null when skipped."
    )
    task_id = serializers.CharField(
        allow_null=True,
        help_text="Id of the queued Celery task; null when skipped or when no broker is configured (a separate "
        "process on the server runs the retrain).",
    )
    detail = serializers.CharField()


class TokenObtainSerializer(serializers.Serializer):
    username = StrictCharField(max_length=150, write_only=True)
    password = StrictCharField(max_length=4096, write_only=True, trim_whitespace=False)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Send it as 'Authorization: Token <token>'.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in one sentence.")
    code = serializers.CharField(help_text="Machine-readable error code.")
    errors = serializers.JSONField(
        required=False, help_text="Validation errors: messages per field, or per item of a bulk request."
    )
