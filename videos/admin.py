from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from videos.admin_widgets import CheckedAutocompleteMixin, CheckedInitialDataMixin
from videos.models import Category, Video, WatchEvent
from videos.watch_admin import WatchDataConsoleMixin, WatchEventPercentForm


@admin.register(Category)
class CategoryAdmin(CheckedInitialDataMixin, admin.ModelAdmin):
    list_display = ["name", "name_zh_hans", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "name_zh_hans"]


@admin.register(Video)
class VideoAdmin(CheckedInitialDataMixin, admin.ModelAdmin):
    list_display = ["title", "category", "duration_seconds", "created_at"]
    list_filter = ["category"]
    search_fields = ["title", "description", "tags"]
    date_hierarchy = "created_at"


@admin.register(WatchEvent)
class WatchEventAdmin(WatchDataConsoleMixin, CheckedAutocompleteMixin, CheckedInitialDataMixin, admin.ModelAdmin):
    form = WatchEventPercentForm
    change_list_template = "admin/videos/watchevent/change_list.html"
    list_display = ["user", "video", "completion_percent", "source", "watched_at"]
    list_filter = ["source", "video__category"]
    search_fields = ["user__username", "video__title", "client_event_id"]
    autocomplete_fields = ["video"]
    raw_id_fields = ["user"]
    date_hierarchy = "watched_at"
    list_select_related = ["user", "video"]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("source", WatchEvent.Source.ADMIN)
        return initial

    @admin.display(description=_("completion"), ordering="completion")
    def completion_percent(self, obj: WatchEvent) -> str:
        return f"{obj.completion * 100:.0f} %"
