from django.contrib import admin

from videos.models import Category, Video, WatchEvent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "duration_seconds", "created_at"]
    list_filter = ["category"]
    search_fields = ["title", "description", "tags"]
    date_hierarchy = "created_at"


@admin.register(WatchEvent)
class WatchEventAdmin(admin.ModelAdmin):
    list_display = ["user", "video", "completion", "source", "watched_at"]
    list_filter = ["source", "video__category"]
    search_fields = ["user__username", "video__title", "client_event_id"]
    autocomplete_fields = ["video"]
    raw_id_fields = ["user"]
    date_hierarchy = "watched_at"
    list_select_related = ["user", "video"]

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("source", WatchEvent.Source.ADMIN)
        return initial
