"""Removing entries from the viewer's history, and undoing a removal."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from videos.history_undo import removal_remember, watch_event_restore
from videos.models import WatchEvent
from videos.services import watch_event_delete

# The message of a removal carries this tag and the event id ("undo:123"): base.html draws an Undo button.
UNDO_TAG = "undo"


def _history_url(request: HttpRequest) -> str:
    url = reverse("history")
    page = request.POST.get("page", "")
    if page.isdigit() and int(page) > 1:
        url += f"?page={int(page)}"
    return url


@login_required
@require_POST
def history_remove(request: HttpRequest, event_id: int) -> HttpResponse:
    try:
        event = watch_event_delete(user=request.user, event_id=event_id)
    except WatchEvent.DoesNotExist:
        raise Http404(_("No such entry in your history.")) from None
    removal_remember(session=request.session, event=event)
    messages.success(
        request,
        _("Removed “%(title)s” (%(percent)d %%) from your history.")
        % {"title": event.video.title, "percent": round(event.completion * 100)},
        extra_tags=f"{UNDO_TAG}:{event.pk}",
    )
    return redirect(_history_url(request))


@login_required
@require_POST
def history_undo(request: HttpRequest, event_id: int) -> HttpResponse:
    """Put back an entry the viewer removed a moment ago (only their own, only once)."""
    event = watch_event_restore(session=request.session, user=request.user, event_id=event_id)
    if event is None:
        messages.error(request, _("That entry can no longer be restored."))
    else:
        messages.success(request, _("Restored “%(title)s” to your history.") % {"title": event.video.title})
    return redirect(_history_url(request))
