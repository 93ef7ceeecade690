"""Catalog, progress reports from the player, and the viewer's own history.

Views stay thin: reads go through ``videos.selectors``, every write
through ``videos.services``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.safe_input import JSONInputError, loads_bounded
from videos import selectors
from videos.forms import WatchForm
from videos.models import Category, Video, WatchEvent
from videos.services import watch_event_record
from videos.validators import parse_completion, validate_client_event_id

PAGE_SIZE = 24
HISTORY_PAGE_SIZE = 30
SHELF_SIZE = 8


def _attach_progress(request: HttpRequest, videos: Iterable[Video | None]) -> None:
    """Give every video a ``completion`` attribute: the viewer's furthest progress, or None."""
    present = [v for v in videos if v is not None]
    progress = selectors.user_completions(user=request.user, video_ids={v.pk for v in present})
    for video in present:
        video.completion = progress.get(video.pk)


def video_list(request: HttpRequest, category_slug: str = "") -> HttpResponse:
    """The whole catalog or one category: search by title, sort, pagination."""
    category = get_object_or_404(Category, slug=category_slug) if category_slug else None
    query = request.GET.get("q", "").strip()[:100]
    order = request.GET.get("sort", "new")
    if order not in selectors.CATALOG_ORDERS:
        order = "new"
    videos = selectors.video_catalog(search=query, category_slug=category_slug, order=order)
    page = Paginator(videos, PAGE_SIZE).get_page(request.GET.get("page"))
    _attach_progress(request, page.object_list)
    kept = {key: value for key, value in (("q", query), ("sort", order if order != "new" else "")) if value}
    return render(
        request,
        "videos/video_list.html",
        {
            "page": page,
            "pager_query": urlencode(kept) + "&" if kept else "",
            "query": query,
            "order": order,
            "category": category,
            "categories": selectors.categories_with_videos(),
        },
    )


def _detail_context(request: HttpRequest, video: Video, form: WatchForm | None = None) -> dict[str, Any]:
    completion = None
    if request.user.is_authenticated:
        completion = selectors.user_completion(user=request.user, video=video)
    related = []
    if video.category_id:
        related = list(
            selectors.video_list(category_slug=video.category.slug).exclude(pk=video.pk).order_by("-created_at")[:4]
        )
        _attach_progress(request, related)
    initial = round((completion or 0) * 100) if completion and completion < 1 else 100
    return {
        "video": video,
        "completion": completion,
        "finished_threshold": settings.FINISHED_COMPLETION,
        "form": form or WatchForm(initial={"percent": initial}),
        "related": related,
    }


@login_required
@require_POST
def video_watch(request: HttpRequest, pk: int) -> HttpResponse:
    """The accessible "I watched N %" control (also the fallback for videos without media)."""
    video = get_object_or_404(Video.objects.select_related("category"), pk=pk)
    form = WatchForm(request.POST)
    if form.is_valid():
        try:
            watch_event_record(
                user=request.user,
                video=video,
                completion=form.cleaned_data["percent"] / 100,
                source=WatchEvent.Source.WEB,
            )
        except ValidationError as exc:
            form.add_error("percent", exc)
    if not form.is_valid():
        return render(request, "videos/video_detail.html", _detail_context(request, video, form), status=400)
    messages.success(request, _("Saved: you watched %(percent)d %%.") % {"percent": form.cleaned_data["percent"]})
    return redirect(video)


def _json_errors(errors: dict[str, list[str]], status: int = 400) -> JsonResponse:
    return JsonResponse({"errors": errors}, status=status)


@require_POST
def video_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """JSON endpoint of the page's player: ``{"completion": 0..1, "client_event_id": "optional"}``.

    Session authentication and Django's CSRF check (``X-CSRFToken`` header). Any bad field gives
    400 with ``{"errors": {field: [messages]}}`` and nothing is stored.
    """
    if not request.user.is_authenticated:
        return _json_errors({"__all__": [_("Log in to record your progress.")]}, status=403)
    try:
        # NaN and Infinity are parsed so that the completion check below names the field.
        payload = loads_bounded(request.body or b"null", allow_nan=True)
    except RequestDataTooBig:
        return _json_errors({"__all__": [_("The request body is too large.")]})
    except JSONInputError as exc:
        if exc.path:
            return _json_errors({exc.field: [exc.message]})
        return _json_errors({"__all__": [_("The request body must be a JSON object."), exc.message]})
    if not isinstance(payload, dict):
        return _json_errors({"__all__": [_("The request body must be a JSON object.")]})

    errors: dict[str, list[str]] = {}
    video = Video.objects.filter(pk=pk).first()
    if video is None:
        errors["video"] = [_("Unknown video.")]
    completion = None
    if "completion" not in payload:
        errors["completion"] = [_("This field is required.")]
    else:
        try:
            completion = parse_completion(payload["completion"])
        except ValidationError as exc:
            errors["completion"] = exc.messages
    client_event_id = payload.get("client_event_id")
    if isinstance(client_event_id, str):
        client_event_id = client_event_id.strip()
    try:
        validate_client_event_id(client_event_id)
    except ValidationError as exc:
        errors["client_event_id"] = exc.messages
    if errors:
        return _json_errors(errors)

    try:
        event, created = watch_event_record(
            user=request.user,
            video=video,
            completion=completion,
            source=WatchEvent.Source.WEB,
            client_event_id=client_event_id,
        )
    except ValidationError as exc:
        return _json_errors({"__all__": exc.messages})
    best = selectors.user_completion(user=request.user, video=video)
    return JsonResponse(
        {"event_id": event.pk, "completion": event.completion, "best_completion": best, "created": created},
        status=201 if created else 200,
    )


@login_required
def history(request: HttpRequest) -> HttpResponse:
    """The viewer's own watch events, newest first, each with a remove button."""
    page = Paginator(selectors.watch_history(user=request.user), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "videos/history.html",
        {"page": page, "summary": selectors.watch_summary(user=request.user)},
    )
