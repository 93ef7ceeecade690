"""The operator's console: model versions readable at a glance, the dashboard, retrain with live
progress, compare, activate and roll back.

Every extra page is registered through ``ModelVersionAdmin.get_urls`` and wrapped in
``admin_site.admin_view`` (active staff only); each one then checks the model permission it needs:
viewing needs ``view_modelversion``, choosing the served version ``change_modelversion``, starting
a retrain ``retrain_model``. Nothing here trains: a retrain is queued with
``recommender.services.retrain_request`` and the version page follows it by polling a JSON view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from recommender import console, dashboard, reporting
from recommender import schedule_admin as _schedule_admin  # noqa: F401  (registers the schedule's admin pages)
from recommender.exceptions import RetrainError
from recommender.models import FINISHED_STATUSES, ModelVersion, Recommendation
from recommender.selectors import active_version

admin.site.site_header = _("Video Recommender · operator's console")
admin.site.site_title = _("Video Recommender console")
admin.site.index_title = _("Watch data, catalog and the recommendation model")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version_label",
        "status_label",
        "objective_short",
        "hr_at_10",
        "ndcg_at_10",
        "rmse",
        "gate_verdict",
        "created_short",
    ]
    list_display_links = ["version_label"]
    list_filter = ["status", "objective", "architecture"]
    list_per_page = 50
    change_list_template = "admin/recommender/modelversion/change_list.html"
    change_form_template = "admin/recommender/modelversion/change_form.html"
    actions = ["activate_selected"]
    fieldsets = [
        (
            _("Run"),
            {
                "fields": [
                    ("status", "stage", "triggered_by"),
                    ("created_at", "finished_at", "activated_at"),
                    ("objective", "architecture"),
                ]
            },
        ),
        (
            _("Data"),
            {
                "fields": [
                    ("n_users", "n_videos", "n_events"),
                    ("n_interactions", "n_recommendations", "last_event_id"),
                ]
            },
        ),
        (_("Artifact"), {"fields": ["artifact_path", "artifact_sha256", "error"], "classes": ["collapse"]}),
    ]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions are made by retraining, never by hand

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, so the served version is never deleted
        return actions

    def has_change_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return False  # figures are facts; activating and rolling back have their own buttons

    def has_delete_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        """The served version and a retrain in progress cannot be deleted."""
        if obj is not None and obj.status not in FINISHED_STATUSES - {ModelVersion.Status.ACTIVE}:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponse], post: bool = False) -> Callable[..., HttpResponse]:
            view = never_cache(view)
            return self.admin_site.admin_view(require_POST(view) if post else view)

        urls = [
            path("dashboard/", wrap(self.dashboard_view), name="recommender_dashboard"),
            path("retrain-now/", wrap(self.retrain_now_view, post=True), name="recommender_modelversion_retrain_now"),
            path("rollback/", wrap(self.rollback_view, post=True), name="recommender_modelversion_rollback"),
            path("<int:object_id>/progress/", wrap(self.progress_view), name="recommender_modelversion_progress"),
            path("<int:object_id>/compare/", wrap(self.compare_view), name="recommender_modelversion_compare"),
            path("<int:object_id>/matrix/", wrap(self.matrix_view), name="recommender_modelversion_matrix"),
            path(
                "<int:object_id>/activate/",
                wrap(self.activate_view, post=True),
                name="recommender_modelversion_activate",
            ),
        ]
        return urls + super().get_urls()

    # ---------------------------------------------------------------------------- permissions

    def has_activate_permission(self, request: HttpRequest) -> bool:
        """Choosing the served version needs the model's change permission (superusers have it)."""
        return request.user.is_active and request.user.has_perm("recommender.change_modelversion")

    def has_retrain_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm("recommender.retrain_model")

    def _require_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _version(self, request: HttpRequest, object_id: int) -> ModelVersion:
        self._require_view(request)
        return get_object_or_404(ModelVersion, pk=object_id)

    # -------------------------------------------------------------------------------- context

    def _console_context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "can_retrain": self.has_retrain_permission(request),
            "can_activate": self.has_activate_permission(request),
            **extra,
        }

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {
            **(extra_context or {}),
            "can_retrain": self.has_retrain_permission(request),
            "can_activate": self.has_activate_permission(request),
            "retrain_skipped": request.session.pop("retrain_skipped", None),
        }
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        version = ModelVersion.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if version is not None:
            extra_context = {
                **(extra_context or {}),
                **console.version_report(version),
                "can_retrain": self.has_retrain_permission(request),
                "can_activate": self.has_activate_permission(request),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    # ---------------------------------------------------------------------------------- pages

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """The console's front page: is the recommender healthy, and is it getting better?"""
        self._require_view(request)
        data = dashboard.dashboard_read()
        return TemplateResponse(
            request,
            "admin/recommender/dashboard.html",
            self._console_context(
                request, title=gettext("Recommender dashboard"), data=data, **console.dashboard_charts(data)
            ),
        )

    def progress_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        """A version's progress for the page that follows a retrain (staff who may view versions)."""
        return JsonResponse(console.version_progress(self._version(request, object_id)))

    def compare_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Two versions side by side: by default this one and the active one."""
        version = self._version(request, object_id)
        other_id = request.GET.get("with", "")
        if other_id:
            if not other_id.isdigit():
                raise Http404
            other = get_object_or_404(ModelVersion, pk=int(other_id))
        else:
            other = active_version()
        if other is None or other.pk == version.pk:
            messages.info(
                request,
                gettext("Model version %(id)s is the active one; choose another version to compare with.")
                % {"id": version.pk}
                if other is not None
                else gettext("There is no active version to compare with."),
            )
            return HttpResponseRedirect(reverse("admin:recommender_modelversion_change", args=[version.pk]))
        return TemplateResponse(
            request,
            "admin/recommender/modelversion/compare.html",
            self._console_context(
                request,
                title=gettext("Compare model versions %(a)s and %(b)s") % {"a": version.pk, "b": other.pk},
                **console.comparison(version, other),
            ),
        )

    def matrix_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Observed and predicted completion as heat maps (catalogs up to 50 × 50)."""
        version = self._version(request, object_id)
        context = self._console_context(
            request,
            title=gettext("Observed and predicted completion, model version %(id)s") % {"id": version.pk},
            **console.heatmaps(version),
        )
        return TemplateResponse(request, "admin/recommender/modelversion/matrix.html", context)

    # -------------------------------------------------------------------------------- actions

    @admin.action(description=_("Activate the selected version (no retraining)"), permissions=["activate"])
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(request, _("Select exactly one version to activate."), level=messages.WARNING)
            return
        self._activate(request, versions[0])

    def _activate(self, request: HttpRequest, version: ModelVersion) -> None:
        from recommender.services import version_activate

        try:
            version = version_activate(version=version)
        except RetrainError as exc:
            self.message_user(request, str(exc).splitlines()[0], level=messages.ERROR)
        else:
            self.message_user(request, _("Model version %(id)s is now active.") % {"id": version.pk}, messages.SUCCESS)

    def activate_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Serve this version (staff with the change permission only)."""
        if not self.has_activate_permission(request):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=object_id)
        self._activate(request, version)
        return HttpResponseRedirect(reverse("admin:recommender_modelversion_change", args=[version.pk]))

    def rollback_view(self, request: HttpRequest) -> HttpResponse:
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

    def retrain_now_view(self, request: HttpRequest) -> HttpResponse:
        """Queue a retrain and open the new version's page, which follows its progress. Returns at
        once: training runs in a worker (or a separate process), never in this request. Skipped when
        nothing new was watched unless the form says ``force``."""
        if not self.has_retrain_permission(request):
            raise PermissionDenied
        from recommender.services import retrain_request

        force = request.POST.get("force") == "1"
        changelist = reverse("admin:recommender_modelversion_changelist")
        try:
            ticket = retrain_request(triggered_by="admin", force=force)
        except RetrainError as exc:
            self.message_user(request, str(exc).splitlines()[0], level=messages.WARNING)
            return HttpResponseRedirect(changelist)
        if ticket.status == "skipped" or ticket.version is None:
            request.session["retrain_skipped"] = ticket.detail
            return HttpResponseRedirect(changelist)
        self.message_user(
            request,
            _("Retrain queued as model version %(id)s; this page follows its progress.") % {"id": ticket.version.pk},
            level=messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:recommender_modelversion_change", args=[ticket.version.pk]))

    # --------------------------------------------------------------------------- list columns

    @admin.display(description=_("version"), ordering="id")
    def version_label(self, obj: ModelVersion) -> str:
        return f"v{obj.pk}"

    @admin.display(description=_("status"), ordering="status")
    def status_label(self, obj: ModelVersion) -> str:
        """The status, and while a retrain runs its stage and epoch."""
        if obj.status in FINISHED_STATUSES:
            return format_html('<span class="mv-status mv-status-{}">{}</span>', obj.status, obj.get_status_display())
        return format_html(
            '<span class="mv-status mv-status-{}">{}</span> <span class="mv-muted">{}</span>',
            obj.status,
            obj.get_status_display(),
            self.progress(obj),
        )

    @admin.display(description=_("progress"))
    def progress(self, obj: ModelVersion) -> str:
        if obj.stage == ModelVersion.Stage.TRAINING and obj.epochs_total:
            return f"{obj.get_stage_display()} {obj.epoch}/{obj.epochs_total}"
        return obj.get_stage_display()

    @admin.display(description=_("objective"), ordering="objective")
    def objective_short(self, obj: ModelVersion) -> str:
        return format_html('{} <span class="mv-muted">{}</span>', obj.objective.replace("_", " "), obj.architecture)

    def _metric(self, obj: ModelVersion, key: str) -> str:
        spec = reporting.METRIC_BY_KEY[key]
        return reporting.metric_text((obj.metrics or {}).get(key), spec.unit)

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
        if not obj.gate:
            return "–"
        return format_html('<span title="{}">{}</span>', obj.gate.get("reason", ""), reporting.gate_word(obj.gate))

    @admin.display(description=_("created"), ordering="created_at")
    def created_short(self, obj: ModelVersion) -> str:
        return console.when(obj.created_at)


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["version", "user", "rank", "video", "score_percent", "reason_video"]
    list_filter = ["version"]
    search_fields = ["user__username", "video__title"]
    list_select_related = ["version", "user", "video", "reason_video"]
    fields = ["version", "user", "video", "score_percent", "rank", "reason_video"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Recommendation | None = None) -> bool:
        return False

    @admin.display(description=_("predicted completion"), ordering="score")
    def score_percent(self, obj: Recommendation) -> str:
        return f"{obj.score * 100:.0f} %"
