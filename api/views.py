"""The REST API: reads through viewsets scoped to ``request.user``, writes through the services."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.contrib.auth import authenticate
from django.db.models import Model, QuerySet, prefetch_related_objects
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from api import serializers as s
from api.authentication import token_obtain
from api.exceptions import Conflict, RetrainUnavailable
from api.permissions import ModelVersionPermission, RetrainPermission
from api.recommendations import RecommendationsView  # noqa: F401  (routed in api/urls.py)
from api.throttles import EventWriteThrottle, TokenObtainThrottle
from recommender import services as recommender_services
from recommender.exceptions import AlreadyRunning, BrokerUnavailable, RetrainError
from recommender.models import ModelVersion
from videos import selectors as video_selectors
from videos.models import Video, WatchEvent
from videos.services import watch_event_delete, watch_event_record, watch_events_record_bulk

_ID = re.compile(r"[0-9]{1,19}")

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView as _GenericView
else:
    _GenericView = object


class SafeLookupMixin(_GenericView):
    """A detail URL id that is not a database id (text, 0, 2**63 or more) is a 404 without a query."""

    lookup_value_regex = "[^/]+"

    def get_object(self) -> Model:
        raw = str(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, ""))
        if not _ID.fullmatch(raw) or not 0 < int(raw) <= s.MAX_ID:
            raise NotFound(f"No object with id {raw[:40]!r}.")
        return super().get_object()


def _query(serializer_class: type[BaseSerializer], request: Request) -> dict[str, Any]:
    """Validated query parameters: each at most once, and an empty value is a value (not "absent")."""
    fields = serializer_class().fields
    repeated = [name for name in fields if len(request.query_params.getlist(name)) > 1]
    if repeated:
        raise ValidationError({name: ["Give this parameter at most once."] for name in repeated})
    query = serializer_class(data={name: request.query_params[name] for name in fields if name in request.query_params})
    query.is_valid(raise_exception=True)
    return query.validated_data


# --- Authentication ----------------------------------------------------------------------------


class TokenView(APIView):
    """Obtain an API token with a username and password, or revoke your own."""

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(TokenObtainThrottle())
        return throttles

    @extend_schema(
        request=s.TokenObtainSerializer,
        responses={200: s.TokenSerializer},
        summary="Obtain an API token",
        description=(
            "Returns the user's token (created on first use). Send it as `Authorization: Token <token>`. "
            "Repeated wrong passwords lock the account out from the client's address (and, beyond a higher "
            "limit, the address itself) for a cool-off time: 429 with code `locked_out`, even for the right "
            "password."
        ),
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        body = s.TokenObtainSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=body.validated_data["username"],
            password=body.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to log in with the username and password given."]})
        token = token_obtain(user=user)
        # The token is a credential: no browser or proxy may keep a copy of this response.
        return Response({"token": token.key}, headers={"Cache-Control": "no-store"})

    @extend_schema(
        request=None,
        responses={204: OpenApiResponse(description="The token is revoked.")},
        summary="Revoke your API token",
        description="Deletes the requesting user's token; clients using it get 401 from then on.",
        tags=["auth"],
    )
    def delete(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Catalog -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(parameters=[s.VideoQuerySerializer], summary="List videos", tags=["videos"]),
    retrieve=extend_schema(summary="One video", tags=["videos"]),
)
class VideoViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.VideoSerializer

    def get_queryset(self) -> QuerySet[Video]:
        if self.action != "list":
            return Video.objects.select_related("category")
        query = _query(s.VideoQuerySerializer, self.request)
        qs = video_selectors.video_list(search=query.get("search", "").strip(), category_slug=query.get("category", ""))
        ordering = query["ordering"]
        return qs.order_by(ordering, "id" if not ordering.startswith("-") else "-id")


# --- Watch events --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(parameters=[s.WatchEventQuerySerializer], summary="Your watch events", tags=["events"]),
    retrieve=extend_schema(summary="One of your watch events", tags=["events"]),
    destroy=extend_schema(summary="Delete one of your watch events", tags=["events"]),
)
class WatchEventViewSet(
    SafeLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The requesting user's watch events; nobody else's are visible or writable."""

    serializer_class = s.WatchEventSerializer

    def get_queryset(self) -> QuerySet[WatchEvent]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user
            return WatchEvent.objects.none()
        qs = WatchEvent.objects.filter(user=self.request.user).select_related("video").order_by("-watched_at", "-id")
        if self.action == "list":
            video_id = _query(s.WatchEventQuerySerializer, self.request).get("video")
            if video_id is not None:
                qs = qs.filter(video_id=video_id)
        return qs

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.action in ("create", "bulk"):
            throttles.append(EventWriteThrottle())
        return throttles

    @extend_schema(
        request=s.WatchEventCreateSerializer,
        responses={
            201: OpenApiResponse(s.WatchEventSerializer, description="Stored."),
            200: OpenApiResponse(
                s.WatchEventSerializer,
                description="This client_event_id was stored before: the original event, nothing new stored.",
            ),
        },
        summary="Record a watch",
        tags=["events"],
    )
    def create(self, request: Request) -> Response:
        body = s.WatchEventCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        event, created = watch_event_record(user=request.user, source=WatchEvent.Source.API, **body.validated_data)
        return Response(
            s.WatchEventSerializer(event).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(
        request=s.WatchEventBulkCreateSerializer,
        responses={
            201: OpenApiResponse(s.WatchEventBulkResultSerializer, description="Stored (at least one new event)."),
            200: OpenApiResponse(
                s.WatchEventBulkResultSerializer, description="Every client_event_id had been stored before."
            ),
        },
        summary="Record up to 1000 watches at once",
        description=(
            "All or nothing: when any event is invalid nothing is stored and the 400 response lists "
            "the problems per item as `errors: [{index, errors}]`."
        ),
        tags=["events"],
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> Response:
        data = request.data
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list) and len(events) > s.MAX_BULK_EVENTS:
            message = f"A bulk request holds at most {s.MAX_BULK_EVENTS} events; this one has {len(events)}."
            raise ValidationError({"events": [message]})
        body = s.WatchEventBulkCreateSerializer(data=data, context={"videos": _videos_named_in(events)})
        if not body.is_valid():
            item_errors = body.errors.get("events")
            # Errors per item (keyed by index) come only from a list of events.
            per_item = isinstance(item_errors, dict) and item_errors and all(isinstance(k, int) for k in item_errors)
            if per_item and isinstance(events, list):
                problems = [{"index": i, "errors": item_errors[i]} for i in sorted(item_errors)]
                return Response(
                    {
                        "detail": f"{len(problems)} of {len(events)} events are invalid; nothing was stored.",
                        "code": "invalid",
                        "errors": problems,
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
            raise ValidationError(body.errors)
        items = body.validated_data["events"]
        results = watch_events_record_bulk(user=request.user, items=items, source=WatchEvent.Source.API)
        for event, created in results:
            event.created = created
        # Events found by their client_event_id come without their video (whose title is shown).
        prefetch_related_objects([event for event, created in results if not created], "video")
        n_created = sum(created for _event, created in results)
        payload = {
            "created": n_created,
            "existing": len(results) - n_created,
            "events": s.WatchEventBulkItemSerializer([event for event, _created in results], many=True).data,
        }
        return Response(payload, status=status.HTTP_201_CREATED if n_created else status.HTTP_200_OK)

    def perform_destroy(self, instance: WatchEvent) -> None:
        watch_event_delete(user=self.request.user, event_id=instance.pk)


def _videos_named_in(events: Any) -> dict[int, Video]:
    """The videos a bulk request refers to, fetched with one query (unknown ids are simply absent)."""
    ids: set[int] = set()
    for item in events if isinstance(events, list) else ():
        value = item.get("video") if isinstance(item, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= s.MAX_ID:
            ids.add(value)
    return Video.objects.in_bulk(list(ids)) if ids else {}


# --- Recommendations -----------------------------------------------------------------------------


# RecommendationsView lives in api/recommendations.py (the feed); re-exported for api/urls.py.


# --- Operators -------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        parameters=[s.ModelVersionQuerySerializer],
        summary="Model versions (staff)",
        description="Every trained or training version, newest first, with status, progress and metrics.",
        tags=["models"],
    ),
    retrieve=extend_schema(
        responses=s.ModelVersionDetailSerializer,
        summary="One model version with its training history (staff)",
        tags=["models"],
    ),
)
class ModelVersionViewSet(SafeLookupMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAuthenticated, ModelVersionPermission]

    def get_queryset(self) -> QuerySet[ModelVersion]:
        qs = ModelVersion.objects.order_by("-created_at", "-id")
        if self.action == "list":
            qs = qs.defer("history")
            wanted = _query(s.ModelVersionQuerySerializer, self.request).get("status")
            if wanted:
                qs = qs.filter(status=wanted)
        return qs

    def get_serializer_class(self) -> type[BaseSerializer]:
        return s.ModelVersionSerializer if self.action == "list" else s.ModelVersionDetailSerializer

    @extend_schema(
        request=None,
        responses={200: s.ModelVersionDetailSerializer, 409: OpenApiResponse(s.ErrorSerializer)},
        summary="Make this version the one readers see (staff)",
        description=(
            "Roll back to a retired version or forward to a newer one. 409 when the version cannot be "
            "activated (still running, or failed)."
        ),
        tags=["models"],
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        try:
            recommender_services.version_activate(version=version)
        except RetrainError as exc:
            raise Conflict(str(exc).splitlines()[0]) from None
        return Response(s.ModelVersionDetailSerializer(self.get_object()).data)


class RetrainView(APIView):
    permission_classes = [IsAuthenticated, RetrainPermission]

    @extend_schema(
        request=s.RetrainRequestSerializer,
        responses={
            202: s.RetrainTicketSerializer,
            200: OpenApiResponse(
                s.RetrainTicketSerializer, description="Skipped: no event since the active version (or none at all)."
            ),
            409: OpenApiResponse(s.ErrorSerializer, description="A retrain is already running or queued."),
            503: OpenApiResponse(
                s.ErrorSerializer, description="The task queue (Redis) is unreachable; nothing was queued."
            ),
        },
        summary="Queue a retrain (staff)",
        description=(
            "Creates a queued model version and hands it to a training worker; it never trains in the web "
            "process and answers at once (202 with the version id and the Celery task id). Skipped (200, "
            "nothing queued) when no event arrived since the active version was trained, unless `force`. "
            "Settings left out take the configured defaults."
        ),
        tags=["models"],
    )
    def post(self, request: Request) -> Response:
        body = s.RetrainRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        overrides = dict(body.validated_data)
        force = overrides.pop("force", False)
        try:
            ticket = recommender_services.retrain_request(triggered_by="api", force=force, config_overrides=overrides)
        except AlreadyRunning as exc:
            raise Conflict(str(exc)) from None
        except ValueError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from None
        except BrokerUnavailable as exc:
            raise RetrainUnavailable(str(exc), code="broker_unavailable") from None
        except RetrainError as exc:
            raise RetrainUnavailable(str(exc).splitlines()[0]) from None
        data = {
            "status": ticket.status,
            "version": ticket.version.pk if ticket.version is not None else None,
            "task_id": ticket.task_id,
            "detail": ticket.detail,
        }
        queued = ticket.status == "queued"
        return Response(data, status=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK)


# --- Unknown API paths -----------------------------------------------------------------------------


@csrf_exempt  # answers every method with a 404; no state to protect
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """JSON 404 for any other /api/ path (the site's HTML 404 page means nothing to an API client)."""
    detail = "No API endpoint at this address."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            detail += f" Did you mean {request.path}/ ?"
    return JsonResponse({"detail": detail, "code": "not_found"}, status=404)
