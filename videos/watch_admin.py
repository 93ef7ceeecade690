"""Watch data in the admin: completion edited as a percentage, CSV upload with a preview before
anything is stored, and CSV export. The reading, checking and writing is ``videos.watch_csv``'s,
the same service ``manage.py import_matrix`` uses.

An upload is kept in a private file under ``VAR_DIR/imports`` between the preview and the commit;
only the session that uploaded it can commit it, and the commit reads and checks it again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from videos.forms import WatchEventAdminForm
from videos.validators import parse_completion
from videos.watch_csv import (
    DEFAULT_SCALE,
    MAX_UPLOAD_BYTES,
    WatchCsvError,
    WatchCsvPreview,
    watch_csv_export,
    watch_csv_preview,
    watch_csv_read,
    watch_csv_store,
)

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin as _ModelAdmin
else:
    _ModelAdmin = object

SESSION_KEY = "watch_csv_upload"
PREVIEW_ROWS = 20
UPLOAD_MAX_AGE_S = 24 * 3600


class WatchEventPercentForm(WatchEventAdminForm):
    """Completion is typed as a percentage (0 to 100) and stored as a share (0 to 1)."""

    completion = forms.DecimalField(
        label=_("completion (%)"),
        min_value=0,
        max_value=100,
        max_digits=7,
        decimal_places=3,
        help_text=_("How much of the video was watched: 0 = opened and left at once, 100 = watched to the end."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.completion is not None and "completion" not in self.data:
            self.initial["completion"] = round(Decimal(str(self.instance.completion)) * 100, 3)

    def clean_completion(self) -> float:
        value = self.cleaned_data["completion"]
        return parse_completion(float(value) / 100.0)


class WatchCsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Either the wide matrix (header “user,<video title>,…”, one row per viewer) or one watch per "
            "row (header “user,video,completion” and optionally “watched_at”). Comma-separated, UTF-8."
        ),
    )
    format = forms.ChoiceField(
        label=_("format"),
        choices=[
            ("auto", _("detect from the header")),
            ("wide", _("wide matrix: one row per viewer, one column per video")),
            ("long", _("long: user, video, completion (0 to 1)[, watched_at]")),
        ],
        initial="auto",
    )
    scale = forms.FloatField(
        label=_("matrix scale"),
        initial=DEFAULT_SCALE,
        min_value=0.001,
        help_text=_("Wide matrix only: the cell value that means “watched to the end” (10: a 7 is 70 %)."),
    )

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(
                _("The file is %(size)d MB; at most %(limit)d MB can be uploaded (use manage.py import_matrix).")
                % {"size": upload.size // 2**20, "limit": MAX_UPLOAD_BYTES // 2**20}
            )
        return upload


def _upload_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _forget_old_uploads(folder: Path) -> None:
    cutoff = time.time() - UPLOAD_MAX_AGE_S
    for old in folder.glob("*.csv"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass


class WatchDataConsoleMixin(_ModelAdmin):
    """For the WatchEvent ModelAdmin: the import and export pages."""

    def get_urls(self) -> list[URLPattern | URLResolver]:
        def wrap(view: Callable[..., HttpResponse], post: bool = False) -> Callable[..., HttpResponse]:
            view = never_cache(view)
            return self.admin_site.admin_view(require_POST(view) if post else view)

        return [
            path("import/", wrap(self.import_view), name="videos_watchevent_import"),
            path("import/commit/", wrap(self.import_commit_view, post=True), name="videos_watchevent_import_commit"),
            path("export/", wrap(self.export_view), name="videos_watchevent_export"),
            *super().get_urls(),
        ]

    def _import_allowed(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request)

    def _context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Import watch data"),
            **extra,
        }

    def _creation_problems(self, request: HttpRequest, preview: WatchCsvPreview) -> list[str]:
        """An import that creates viewers or videos needs the right to add them."""
        problems = []
        if preview.new_users and not request.user.has_perm("auth.add_user"):
            problems.append(
                gettext("The file names %(n)d viewers who do not exist, and you may not add users.")
                % {"n": len(preview.new_users)}
            )
        if preview.new_videos and not request.user.has_perm("videos.add_video"):
            problems.append(
                gettext("The file names %(n)d videos that do not exist, and you may not add videos.")
                % {"n": len(preview.new_videos)}
            )
        return problems

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload → preview (every problem by row and column; nothing stored)."""
        if not self._import_allowed(request):
            raise PermissionDenied
        form = WatchCsvUploadForm(request.POST or None, request.FILES or None)
        context = self._context(request, form=form, max_mb=MAX_UPLOAD_BYTES // 2**20)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["file"].read()
            parsed = watch_csv_read(data=data, format=form.cleaned_data["format"], scale=form.cleaned_data["scale"])
            preview = watch_csv_preview(parsed=parsed) if parsed.ok else None
            refusals = self._creation_problems(request, preview) if preview else []
            context.update(
                parsed=parsed,
                preview=preview,
                refusals=refusals,
                file_name=form.cleaned_data["file"].name,
                sample=parsed.cells[:PREVIEW_ROWS],
                more_rows=max(len(parsed.cells) - PREVIEW_ROWS, 0),
            )
            if preview is not None and not refusals:
                folder = _upload_dir()
                _forget_old_uploads(folder)
                token = secrets.token_urlsafe(18)
                (folder / f"{token}.csv").write_bytes(data)
                request.session[SESSION_KEY] = {
                    "token": token,
                    "format": parsed.format,
                    "scale": form.cleaned_data["scale"],
                    "name": form.cleaned_data["file"].name,
                }
                context["token"] = token
        return TemplateResponse(request, "admin/videos/watchevent/import.html", context)

    def import_commit_view(self, request: HttpRequest) -> HttpResponse:
        """Store the previewed file, all or nothing (it is read and checked again first)."""
        if not self._import_allowed(request):
            raise PermissionDenied
        pending = request.session.get(SESSION_KEY) or {}
        token = request.POST.get("token", "")
        back = reverse("admin:videos_watchevent_import")
        if not token or not secrets.compare_digest(token, str(pending.get("token", ""))):
            messages.error(request, gettext("That upload is no longer waiting to be imported; upload the file again."))
            return HttpResponseRedirect(back)
        stored = _upload_dir() / f"{token}.csv"
        try:
            data = stored.read_bytes()
        except OSError:
            request.session.pop(SESSION_KEY, None)
            messages.error(request, gettext("That upload is no longer waiting to be imported; upload the file again."))
            return HttpResponseRedirect(back)
        parsed = watch_csv_read(data=data, format=pending["format"], scale=pending["scale"])
        try:
            if parsed.ok:
                refusals = self._creation_problems(request, watch_csv_preview(parsed=parsed))
                if refusals:
                    raise WatchCsvError(refusals)
            result = watch_csv_store(parsed=parsed)
        except WatchCsvError as exc:
            messages.error(request, gettext("Nothing was imported: %(error)s") % {"error": exc})
            return HttpResponseRedirect(back)
        finally:
            stored.unlink(missing_ok=True)
            request.session.pop(SESSION_KEY, None)
        messages.success(
            request,
            gettext("Imported %(events)d watch events from %(name)s (%(users)d new viewers, %(videos)d new videos).")
            % {
                "events": result.events_created,
                "name": pending.get("name", "the file"),
                "users": result.users_created,
                "videos": result.videos_created,
            },
        )
        return HttpResponseRedirect(reverse("admin:videos_watchevent_changelist"))

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """Every watch as CSV (``?format=long``, the default) or the wide matrix (``?format=wide``)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        fmt = request.GET.get("format", "long")
        if fmt not in ("long", "wide"):
            messages.error(request, gettext("Unknown export format; choose long or wide."))
            return HttpResponseRedirect(reverse("admin:videos_watchevent_changelist"))
        try:
            scale = float(request.GET.get("scale", DEFAULT_SCALE))
            lines = watch_csv_export(format=fmt, scale=scale)
        except (ValueError, WatchCsvError) as exc:
            messages.error(request, str(exc) if isinstance(exc, WatchCsvError) else gettext("Bad scale."))
            return HttpResponseRedirect(reverse("admin:videos_watchevent_changelist"))
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="watch-data-{fmt}-{stamp}.csv"'
        return response
