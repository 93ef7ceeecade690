from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from recommender.exceptions import RetrainError
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
    change_list_template = "admin/recommender/modelversion/change_list.html"

    def has_add_permission(self, request):
        return False  # versions are made by retraining, never by hand

    def get_urls(self):
        urls = [
            path(
                "retrain-now/",
                self.admin_site.admin_view(require_POST(self.retrain_now_view)),
                name="recommender_modelversion_retrain_now",
            ),
        ]
        return urls + super().get_urls()

    def retrain_now_view(self, request):
        """Queue a retrain (staff only); the list then shows its progress."""
        if not request.user.is_staff:
            raise PermissionDenied
        from recommender.services import retrain_enqueue

        try:
            task_id = retrain_enqueue(triggered_by="admin", force=True)
        except RetrainError as exc:
            self.message_user(request, str(exc).splitlines()[0], level=messages.WARNING)
        else:
            self.message_user(request, _("Retrain queued (task %(id)s).") % {"id": task_id}, level=messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:recommender_modelversion_changelist"))

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
