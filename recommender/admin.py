"""The operator's console: model versions readable at a glance, the dashboard, retrain with live
progress, compare, activate and roll back.

Every extra page is registered through ``ModelVersionAdmin.get_urls`` and wrapped in
``admin_site.admin_view`` (active staff only); each one then checks the model permission it needs:
viewing needs ``view_modelversion``, choosing the served version ``change_modelversion``, starting
a retrain ``retrain_model``. Nothing here trains: a retrain is queued with
``recommender.services.retrain_request`` and the version page follows it by polling a JSON view.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from recommender import charts, dashboard, reporting
from recommender import schedule_admin as _schedule_admin  # noqa: F401  (registers the schedule's admin pages)
from recommender.exceptions import RetrainError
from recommender.models import ModelVersion, Recommendation

admin.site.site_header = _("Video Recommender · operator's console")
admin.site.site_title = _("Video Recommender console")
admin.site.index_title = _("Watch data, catalog and the recommendation model")

FINISHED = {
    ModelVersion.Status.SUCCEEDED,
    ModelVersion.Status.FAILED,
    ModelVersion.Status.ACTIVE,
    ModelVersion.Status.RETIRED,
    ModelVersion.Status.REJECTED,
}
HYPERPARAMETER_HELP = {
    "objective": _("What the model learns (see the verdict above)."),
    "architecture": _("mlp: the reference network; neumf: adds a matrix-factorisation branch."),
    "embedding_dim": _("Size of the learned profile of each viewer and video."),
    "hidden_units": _("Layer sizes of the network's tower."),
    "epochs": _("Most passes over the data (early stopping may end sooner)."),
    "batch_size": _("Examples per training step (an upper bound on small catalogs)."),
    "learning_rate": _("Step size of the optimiser."),
    "lr_decay": _("Learning-rate factor per epoch (1 = constant)."),
    "l2": _("Penalty on large profile values (against over-fitting)."),
    "l2_rows": _("Penalty per looked-up profile, as in matrix factorisation."),
    "dropout": _("Share of the tower's units switched off while training."),
    "ema": _("Averaging of the weights during training (0 = off)."),
    "use_bias": _("Learn a per-viewer and per-video offset."),
    "negatives": _("Unwatched videos sampled per watch (expected-completion objective)."),
    "validation_fraction": _("Share of watches kept aside to decide when to stop."),
    "min_validation_samples": _("Below this many watches, no validation split."),
    "patience": _("Epochs without improvement before training stops."),
    "seed": _("Random seed: the same data and seed give the same model."),
}
STAGE_LABELS = {
    "import": _("loading TensorFlow"),
    "read": _("reading watch events"),
    "pivot": _("building the matrix"),
    "evaluate": _("held-out evaluation"),
    "train": _("training"),
    "save": _("saving the model"),
    "score": _("scoring"),
    "write": _("writing recommendations"),
    "publish": _("publishing"),
}


def _loss_series(version: ModelVersion, name: str | None = None, colour: str | None = None) -> list[charts.Series]:
    history = version.history or []
    label = name or gettext("training loss")
    series = [charts.Series(label, [(row.get("epoch", i + 1), row.get("loss")) for i, row in enumerate(history)])]
    if any(row.get("val_loss") is not None for row in history):
        series.append(
            charts.Series(
                (name + " · " if name else "") + gettext("validation loss"),
                [(row.get("epoch", i + 1), row.get("val_loss")) for i, row in enumerate(history)],
                dashed=True,
                colour=colour,
            )
        )
    return series


def training_curve(version: ModelVersion) -> str:
    return charts.line_chart(
        series=_loss_series(version),
        label=gettext("Training loss per epoch, model version %(id)s") % {"id": version.pk},
        x_label=gettext("epoch"),
        y_label=gettext("loss"),
        empty_message=gettext("No epoch finished yet."),
    )


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

    def has_add_permission(self, request):
        return False  # versions are made by retraining, never by hand

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one by one, so the served version is never deleted
        return actions

    def has_change_permission(self, request, obj=None):
        return False  # figures are facts; activating and rolling back have their own buttons

    def has_delete_permission(self, request, obj=None):
        """The served version and a retrain in progress cannot be deleted."""
        if obj is not None and obj.status not in FINISHED - {ModelVersion.Status.ACTIVE}:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        def wrap(view, post=False):
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

    def has_activate_permission(self, request) -> bool:
        """Choosing the served version needs the model's change permission (superusers have it)."""
        return request.user.is_active and request.user.has_perm("recommender.change_modelversion")

    def has_retrain_permission(self, request) -> bool:
        return request.user.is_active and request.user.has_perm("recommender.retrain_model")

    def _require_view(self, request) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def _version(self, request, object_id: int) -> ModelVersion:
        self._require_view(request)
        return get_object_or_404(ModelVersion, pk=object_id)

    # -------------------------------------------------------------------------------- context

    def _console_context(self, request, **extra) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "can_retrain": self.has_retrain_permission(request),
            "can_activate": self.has_activate_permission(request),
            **extra,
        }

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_retrain": self.has_retrain_permission(request),
            "can_activate": self.has_activate_permission(request),
            "retrain_skipped": request.session.pop("retrain_skipped", None),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = ModelVersion.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if version is not None:
            extra_context = {**(extra_context or {}), **self._report_context(request, version)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _report_context(self, request, version: ModelVersion) -> dict[str, Any]:
        active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).only("pk").first()
        durations = {k: v for k, v in (version.durations or {}).items() if k != "total"}
        total = (version.durations or {}).get("total") or sum(durations.values()) or 0
        hyper = [
            (name, _plain_value(value), HYPERPARAMETER_HELP.get(name, ""))
            for name, value in (version.hyperparameters or {}).items()
        ]
        return {
            "version": version,
            "verdict": reporting.verdict(
                metrics=version.metrics, objective=version.objective, status=version.status, gate=version.gate
            ),
            "objective_meaning": reporting.OBJECTIVE_MEANING.get(version.objective, ""),
            "metric_rows": reporting.metric_rows(version.metrics, version.objective),
            "evaluation_facts": _evaluation_facts(version.metrics or {}),
            "gate": version.gate or None,
            "durations": [
                (STAGE_LABELS.get(k, k), v, round(100 * v / total) if total else 0) for k, v in durations.items()
            ],
            "duration_total": total,
            "hyperparameters": hyper,
            "curve": training_curve(version),
            "in_progress": version.status not in FINISHED,
            "active_id": active.pk if active else None,
            "can_retrain": self.has_retrain_permission(request),
            "can_activate": self.has_activate_permission(request),
            "small_catalog": 0 < version.n_users <= dashboard.HEATMAP_MAX
            and 0 < version.n_videos <= dashboard.HEATMAP_MAX,
        }

    # ---------------------------------------------------------------------------------- pages

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """The console's front page: is the recommender healthy, and is it getting better?"""
        self._require_view(request)
        data = dashboard.dashboard_read()
        return TemplateResponse(
            request,
            "admin/recommender/dashboard.html",
            self._console_context(
                request,
                title=gettext("Recommender dashboard"),
                data=data,
                **_dashboard_charts(data),
            ),
        )

    def progress_view(self, request: HttpRequest, object_id: int) -> JsonResponse:
        """A version's progress for the page that follows a retrain (staff who may view versions)."""
        version = self._version(request, object_id)
        history = version.history or []
        return JsonResponse(
            {
                "id": version.pk,
                "status": version.status,
                "status_label": str(version.get_status_display()),
                "stage": version.stage,
                "stage_label": str(version.get_stage_display()),
                "epoch": version.epoch,
                "epochs_total": version.epochs_total,
                "loss": history[-1].get("loss") if history else None,
                "finished": version.status in FINISHED,
                "error": version.error.splitlines()[0] if version.error else "",
            }
        )

    def compare_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Two versions side by side: by default this one and the active one."""
        version = self._version(request, object_id)
        other_id = request.GET.get("with", "")
        if other_id:
            if not other_id.isdigit():
                raise Http404
            other = get_object_or_404(ModelVersion, pk=int(other_id))
        else:
            other = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).first()
        if other is None or other.pk == version.pk:
            messages.info(
                request,
                gettext("Model version %(id)s is the active one; choose another version to compare with.")
                % {"id": version.pk}
                if other is not None
                else gettext("There is no active version to compare with."),
            )
            return HttpResponseRedirect(reverse("admin:recommender_modelversion_change", args=[version.pk]))
        left, right = version, other
        rows = []
        for spec in reporting.METRICS:
            a, b = (left.metrics or {}).get(spec.key), (right.metrics or {}).get(spec.key)
            if a is None and b is None:
                continue
            better = ""
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a != b:
                better = "left" if (a > b) == spec.higher_is_better else "right"
            rows.append((spec, reporting.metric_text(a, spec.unit), reporting.metric_text(b, spec.unit), better))
        names = list(dict.fromkeys([*(left.hyperparameters or {}), *(right.hyperparameters or {})]))
        hyper = [
            (
                name,
                _plain_value((left.hyperparameters or {}).get(name, "–")),
                _plain_value((right.hyperparameters or {}).get(name, "–")),
            )
            for name in names
        ]
        curve = charts.line_chart(
            series=[
                *_loss_series(left, gettext("v%(id)s") % {"id": left.pk}, charts.PALETTE[0])[:1],
                *[
                    charts.Series(s.name, s.points, colour=charts.PALETTE[1])
                    for s in _loss_series(right, gettext("v%(id)s") % {"id": right.pk})[:1]
                ],
            ],
            label=gettext("Training loss per epoch, versions %(a)s and %(b)s") % {"a": left.pk, "b": right.pk},
            x_label=gettext("epoch"),
            y_label=gettext("loss"),
        )
        facts = [
            (gettext("status"), left.get_status_display(), right.get_status_display()),
            (gettext("objective"), left.objective, right.objective),
            (gettext("created"), _when(left.created_at), _when(right.created_at)),
            (gettext("viewers × videos"), _size(left), _size(right)),
            (gettext("watch events"), left.n_events, right.n_events),
            (gettext("promotion gate"), _gate_text(left), _gate_text(right)),
            (
                gettext("training time (s)"),
                (left.durations or {}).get("total", "–"),
                (right.durations or {}).get("total", "–"),
            ),
        ]
        others = ModelVersion.objects.exclude(pk=left.pk).only("pk", "status", "created_at")[:30]
        return TemplateResponse(
            request,
            "admin/recommender/modelversion/compare.html",
            self._console_context(
                request,
                title=gettext("Compare model versions %(a)s and %(b)s") % {"a": left.pk, "b": right.pk},
                left=left,
                right=right,
                metric_rows=rows,
                hyper=hyper,
                facts=facts,
                curve=curve,
                others=others,
                verdict_left=reporting.verdict(metrics=left.metrics, objective=left.objective, status=left.status),
                verdict_right=reporting.verdict(metrics=right.metrics, objective=right.objective, status=right.status),
            ),
        )

    def matrix_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Observed and predicted completion as heat maps (catalogs up to 50 × 50)."""
        version = self._version(request, object_id)
        maps = dashboard.heatmaps_read(version=version)
        context = self._console_context(
            request,
            title=gettext("Observed and predicted completion, model version %(id)s") % {"id": version.pk},
            version=version,
            maps=maps,
            limit=dashboard.HEATMAP_MAX,
        )
        if maps is not None:
            context["observed_map"] = charts.heatmap(
                rows=maps.users,
                columns=maps.videos,
                values=maps.observed,
                label=gettext("Observed completion"),
            )
            context["predicted_map"] = charts.heatmap(
                rows=maps.users,
                columns=maps.videos,
                values=maps.predicted,
                marked=maps.watched,
                label=gettext("Predicted completion (published scores)"),
            )
        return TemplateResponse(request, "admin/recommender/modelversion/matrix.html", context)

    # -------------------------------------------------------------------------------- actions

    @admin.action(description=_("Activate the selected version (no retraining)"), permissions=["activate"])
    def activate_selected(self, request, queryset):
        versions = list(queryset[:2])
        if len(versions) != 1:
            self.message_user(request, _("Select exactly one version to activate."), level=messages.WARNING)
            return
        self._activate(request, versions[0])

    def _activate(self, request, version: ModelVersion) -> None:
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
        if obj.status in FINISHED:
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
        gate = obj.gate or {}
        if not gate:
            return "–"
        short = gettext("passed") if gate.get("passed") else gettext("forced") if gate.get("forced") else None
        if short is None:
            short = gettext("rejected")
        return format_html('<span title="{}">{}</span>', gate.get("reason", ""), short)

    @admin.display(description=_("created"), ordering="created_at")
    def created_short(self, obj: ModelVersion) -> str:
        return _when(obj.created_at)


def _plain_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " × ".join(str(v) for v in value) if value else "–"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    return str(value)


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "–"


def _size(version: ModelVersion) -> str:
    return f"{version.n_users:,} × {version.n_videos:,}"


def _gate_text(version: ModelVersion) -> str:
    gate = version.gate or {}
    if not gate:
        return "–"
    if gate.get("passed"):
        return gettext("passed")
    word = gettext("forced") if gate.get("forced") else gettext("rejected")
    return f"{word}: {gate.get('reason', '')}"


def _evaluation_facts(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    facts = []
    if metrics.get("n_ranked") is not None:
        facts.append((gettext("viewers ranked (HR, NDCG)"), f"{metrics['n_ranked']:,}"))
    if metrics.get("negatives") is not None:
        facts.append((gettext("unwatched videos each hidden watch competes with"), str(metrics["negatives"])))
    if metrics.get("n_rated") is not None:
        facts.append((gettext("held-out watches (RMSE, MAE)"), f"{metrics['n_rated']:,}"))
    if metrics.get("evaluation") == "skipped":
        facts.append((gettext("evaluation"), gettext("skipped: %(note)s") % {"note": metrics.get("evaluation_note")}))
    return facts


def _dashboard_charts(data: dashboard.Dashboard) -> dict[str, Any]:
    per_day = charts.bar_chart(
        bars=[(day.strftime("%d %b"), n) for day, n in data.per_day],
        label=gettext("Watch events per day, last %(n)d days") % {"n": dashboard.DAYS},
        y_label=gettext("watches"),
        label_every=5,
        empty_message=gettext("No watch events in the last %(n)d days.") % {"n": dashboard.DAYS},
    )
    finished = [v for v in reversed(data.versions) if (v.metrics or {}).get("hr_at_10") is not None]
    ticks = [(float(v.pk), f"v{v.pk}") for v in finished]
    metric_series = [
        charts.Series("HR@10", [(v.pk, v.metrics.get("hr_at_10")) for v in finished], colour=charts.PALETTE[0]),
        charts.Series(
            gettext("HR@10 most popular"),
            [(v.pk, v.metrics.get("baseline_popular_hr_at_10")) for v in finished],
            dashed=True,
            colour=charts.PALETTE[0],
        ),
        charts.Series("NDCG@10", [(v.pk, v.metrics.get("ndcg_at_10")) for v in finished], colour=charts.PALETTE[1]),
        charts.Series(
            gettext("NDCG@10 most popular"),
            [(v.pk, v.metrics.get("baseline_popular_ndcg_at_10")) for v in finished],
            dashed=True,
            colour=charts.PALETTE[1],
        ),
        charts.Series(
            gettext("catalog coverage"),
            [(v.pk, v.metrics.get("coverage_at_10")) for v in finished],
            colour=charts.PALETTE[2],
        ),
    ]
    metrics_chart = charts.line_chart(
        series=metric_series,
        label=gettext("Ranking quality per model version against the most-popular baseline"),
        x_label=gettext("model version"),
        percent=True,
        x_ticks=ticks,
        empty_message=gettext("No evaluated model version yet."),
    )
    with_history = [v for v in data.versions if v.history][: dashboard.LOSS_VERSIONS]
    loss_chart = charts.line_chart(
        series=[
            charts.Series(f"v{v.pk}", [(r.get("epoch", i + 1), r.get("loss")) for i, r in enumerate(v.history)])
            for v in reversed(with_history)
        ],
        label=gettext("Training loss per epoch of the latest versions"),
        x_label=gettext("epoch"),
        y_label=gettext("loss"),
        empty_message=gettext("No version has trained yet."),
    )
    scores_chart = charts.bar_chart(
        bars=[(f"{edge} %", n) for edge, n in data.score_bins],
        label=gettext("Published scores of the active version (predicted completion, %)"),
        y_label=gettext("recommendations"),
        colour=charts.PALETTE[2],
        empty_message=gettext("No active version yet."),
    )
    return {
        "per_day_chart": per_day,
        "metrics_chart": metrics_chart,
        "loss_chart": loss_chart,
        "scores_chart": scores_chart,
    }


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["version", "user", "rank", "video", "score_percent", "reason_video"]
    list_filter = ["version"]
    search_fields = ["user__username", "video__title"]
    list_select_related = ["version", "user", "video", "reason_video"]
    fields = ["version", "user", "video", "score_percent", "rank", "reason_video"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("predicted completion"), ordering="score")
    def score_percent(self, obj: Recommendation) -> str:
        return f"{obj.score * 100:.0f} %"
