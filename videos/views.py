from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from videos import selectors
from videos.forms import WatchForm
from videos.models import Category, Video, WatchEvent
from videos.services import watch_event_record

PAGE_SIZE = 24


def video_list(request, category_slug: str = ""):
    category = get_object_or_404(Category, slug=category_slug) if category_slug else None
    query = request.GET.get("q", "").strip()[:100]
    videos = selectors.video_list(search=query, category_slug=category_slug)
    page = Paginator(videos, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "videos/video_list.html",
        {"page": page, "query": query, "category": category, "categories": Category.objects.all()},
    )


def video_detail(request, pk: int):
    video = get_object_or_404(Video.objects.select_related("category"), pk=pk)
    completion = None
    if request.user.is_authenticated:
        completion = selectors.user_completion(user=request.user, video=video)
    return render(
        request,
        "videos/video_detail.html",
        {"video": video, "completion": completion, "form": WatchForm()},
    )


@login_required
@require_POST
def video_watch(request, pk: int):
    video = get_object_or_404(Video, pk=pk)
    form = WatchForm(request.POST)
    if not form.is_valid():
        completion = selectors.user_completion(user=request.user, video=video)
        return render(
            request,
            "videos/video_detail.html",
            {"video": video, "completion": completion, "form": form},
            status=400,
        )
    try:
        watch_event_record(
            user=request.user,
            video=video,
            completion=form.cleaned_data["percent"] / 100,
            source=WatchEvent.Source.WEB,
        )
    except ValidationError as exc:
        form.add_error("percent", exc)
        return render(request, "videos/video_detail.html", {"video": video, "form": form}, status=400)
    messages.success(request, _("Saved: you watched %(percent)d %%.") % {"percent": form.cleaned_data["percent"]})
    return redirect(video)
