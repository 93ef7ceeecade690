from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from recommender.models import ModelVersion, Recommendation


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "stage",
        "progress",
        "objective",
        "architecture",
        "n_users",
        "n_videos",
        "n_events",
        "holdout_rmse",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "objective", "architecture"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request):
        return False  # versions are made by retraining, never by hand

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj: ModelVersion) -> str:
        if obj.stage == ModelVersion.Stage.TRAINING and obj.epochs_total:
            return f"{obj.get_stage_display()} {obj.epoch}/{obj.epochs_total}"
        return obj.get_stage_display()

    @admin.display(description=_("holdout RMSE"))
    def holdout_rmse(self, obj: ModelVersion):
        value = (obj.metrics or {}).get("holdout_rmse")
        return f"{value:.4f}" if isinstance(value, (int, float)) else "–"


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["version", "user", "rank", "video", "score", "reason_video"]
    list_filter = ["version"]
    search_fields = ["user__username", "video__title"]
    list_select_related = ["version", "user", "video", "reason_video"]
    readonly_fields = ["version", "user", "video", "score", "rank", "reason_video"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
