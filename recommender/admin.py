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
        "hr_at_10",
        "ndcg_at_10",
        "rmse",
        "gate_verdict",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "objective", "architecture"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    change_list_template = "admin/recommender/modelversion/change_list.html"
    actions = ["activate_selected"]

    def has_add_permission(self, request):
        return False  # versions are made by retraining, never by hand

    def get_urls(self):
        urls = [
            path(
                "retrain-now/",
                self.admin_site.admin_view(require_POST(self.retrain_now_view)),
                name="recommender_modelversion_retrain_now",
            ),
            path(
                "rollback/",
                self.admin_site.admin_view(require_POST(self.rollback_view)),
                name="recommender_modelversion_rollback",
            ),
        ]
        return urls + super().get_urls()

    def has_activate_permission(self, request) -> bool:
        """Choosing the served version needs the model's change permission (superusers have it)."""
        return request.user.is_active and request.user.has_perm("recommender.change_modelversion")

    @admin.action(description=_("Activate the selected version (no retraining)"), permissions=["activate"])
    def activate_selected(self, request, queryset):
        from recommender.services import version_activate

        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(request, _("Select exactly one version to activate."), level=messages.WARNING)
            return
        try:
            version = version_activate(version=versions[0])
        except RetrainError as exc:
            self.message_user(request, str(exc).splitlines()[0], level=messages.ERROR)
        else:
            self.message_user(request, _("Model version %(id)s is now active.") % {"id": version.pk}, messages.SUCCESS)

    def rollback_view(self, request):
        """Serve the previous version again (staff with the change permission only)."""
        if not self.has_activate_permission(request):
            raise PermissionDenied
        from recommender.services import version_rollback

        try:
            version = version_rollback()
        except RetrainError as exc:
            self.message_user(request, str(exc).splitlines()[0], level=messages.WARNING)
        else:
            self.message_user(
                request, _("Rolled back: model version %(id)s is active again.") % {"id": version.pk}, messages.SUCCESS
            )
        return HttpResponseRedirect(reverse("admin:recommender_modelversion_changelist"))

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

    def _metric(self, obj: ModelVersion, key: str) -> str:
        value = (obj.metrics or {}).get(key)
        return f"{value:.4f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "–"

    @admin.display(description=_("HR@10"))
    def hr_at_10(self, obj: ModelVersion) -> str:
        return self._metric(obj, "hr_at_10")

    @admin.display(description=_("NDCG@10"))
    def ndcg_at_10(self, obj: ModelVersion) -> str:
        return self._metric(obj, "ndcg_at_10")

    @admin.display(description=_("RMSE"))
    def rmse(self, obj: ModelVersion) -> str:
        return self._metric(obj, "rmse")

    @admin.display(description=_("promotion gate"))
    def gate_verdict(self, obj: ModelVersion) -> str:
        gate = obj.gate or {}
        if not gate:
            return "–"
        if gate.get("passed"):
            return str(_("passed"))
        if gate.get("forced"):
            return str(_("forced: %(reason)s") % {"reason": gate.get("reason", "")})
        return str(_("rejected: %(reason)s") % {"reason": gate.get("reason", "")})


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
