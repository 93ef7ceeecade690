"""Trained model versions and the recommendations each one published."""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ModelVersion(models.Model):
    """One retrain: its configuration, progress, figures, artifact and outcome.

    At most one version is ``active`` (a partial unique constraint enforces it); readers only ever
    see the recommendations of the active version.
    """

    class Status(models.TextChoices):
        # Without a Django plugin mypy reads each member as its (value, label) tuple; at run time it is
        # a str (the value), which is what the type checker is told.
        if TYPE_CHECKING:
            QUEUED: str
            RUNNING: str
            SUCCEEDED: str
            FAILED: str
            ACTIVE: str
            RETIRED: str
            REJECTED: str
        else:
            QUEUED = "queued", _("queued")
            RUNNING = "running", _("running")
            SUCCEEDED = "succeeded", _("succeeded")
            FAILED = "failed", _("failed")
            ACTIVE = "active", _("active")
            RETIRED = "retired", _("retired")
            REJECTED = "rejected", _("rejected")

    class Stage(models.TextChoices):
        # See Status.
        if TYPE_CHECKING:
            QUEUED: str
            READING: str
            PIVOTING: str
            EVALUATING: str
            TRAINING: str
            SCORING: str
            PUBLISHING: str
            DONE: str
        else:
            QUEUED = "queued", _("queued")
            READING = "reading", _("reading events")
            PIVOTING = "pivoting", _("building the matrix")
            EVALUATING = "evaluating", _("evaluating")
            TRAINING = "training", _("training")
            SCORING = "scoring", _("scoring")
            PUBLISHING = "publishing", _("publishing")
            DONE = "done", _("done")

    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING, db_index=True)
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices, default=Stage.QUEUED)
    epoch = models.PositiveIntegerField(_("epoch"), default=0)
    epochs_total = models.PositiveIntegerField(_("epochs planned"), default=0)
    triggered_by = models.CharField(
        _("triggered by"), max_length=32, blank=True, help_text=_("command, task, admin or api")
    )

    objective = models.CharField(_("objective"), max_length=32)
    architecture = models.CharField(_("architecture"), max_length=16, default="mlp")
    hyperparameters = models.JSONField(_("hyper-parameters"), default=dict, blank=True)

    n_users = models.PositiveIntegerField(_("users"), default=0)
    n_videos = models.PositiveIntegerField(_("videos"), default=0)
    n_events = models.PositiveIntegerField(_("events"), default=0)
    n_interactions = models.PositiveIntegerField(
        _("interactions"), default=0, help_text=_("Distinct (user, video) pairs in the matrix.")
    )
    last_event_id = models.BigIntegerField(
        _("last event id"), null=True, blank=True, help_text=_("Newest watch event included.")
    )
    n_recommendations = models.PositiveIntegerField(_("recommendations"), default=0)

    history = models.JSONField(_("training history"), default=list, blank=True)
    metrics = models.JSONField(
        _("metrics"),
        default=dict,
        blank=True,
        help_text=_("Held-out evaluation, baselines and training figures (see recommender/evaluation.py)."),
    )
    gate = models.JSONField(
        _("promotion gate"),
        default=dict,
        blank=True,
        help_text=_("The promotion gate's checks and verdict; a rejected version says why here."),
    )
    durations = models.JSONField(_("durations (s)"), default=dict, blank=True)

    artifact_path = models.CharField(_("artifact path"), max_length=500, blank=True)
    artifact_sha256 = models.CharField(_("artifact sha256"), max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        permissions = [("retrain_model", _("Can retrain the recommendation model"))]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="modelversion_single_active",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.pk} ({self.get_status_display()})"

    @property
    def final_loss(self) -> float | None:
        return self.history[-1].get("loss") if self.history else None


# Statuses of a version whose training ran to the end (it has scores, it may be activated) and of
# every version that will not change any more.
COMPLETED_STATUSES = frozenset(
    {
        ModelVersion.Status.SUCCEEDED,
        ModelVersion.Status.ACTIVE,
        ModelVersion.Status.RETIRED,
        ModelVersion.Status.REJECTED,
    }
)
FINISHED_STATUSES = COMPLETED_STATUSES | {ModelVersion.Status.FAILED}


class Recommendation(models.Model):
    """One row of a version's top-N list of a viewer, written in bulk by the retrain (``COPY`` on
    PostgreSQL: a million-watch catalogue writes hundreds of thousands of rows per version).

    A derived table, rebuilt by every retrain: the links to the viewer and the videos carry no
    database constraint (checking three foreign keys per row cost more than writing the rows), the
    ones Django needs for deletes stay (``on_delete`` runs in Django, which deletes a viewer's or a
    video's rows with them). The link to the version keeps its constraint, so no row can outlive a
    version deleted while it was being scored; its own index is covered by the two composite ones.
    """

    version = models.ForeignKey(
        ModelVersion,
        verbose_name=_("model version"),
        on_delete=models.CASCADE,
        related_name="recommendations",
        db_index=False,
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="recommendations",
        db_constraint=False,
    )
    video = models.ForeignKey(
        "videos.Video", verbose_name=_("video"), on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    score = models.FloatField(_("predicted score"))
    rank = models.PositiveSmallIntegerField(_("rank"))
    reason_video = models.ForeignKey(
        "videos.Video",
        verbose_name=_("because you watched"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        ordering = ["version", "user", "rank"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        constraints = [
            models.UniqueConstraint(fields=["version", "user", "video"], name="recommendation_unique_pair"),
        ]
        indexes = [
            models.Index(fields=["version", "user", "rank"], name="recommendation_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.video} ({self.score:.2f})"


class PreparedFeed(models.Model):
    """A viewer's model feed of one version in one language, ready to send (``recommender.prepared``).

    Written for every viewer and every language of the site when the version's rows are written
    (before it is activated), pruned with them. ``payload`` holds the items as the API sends them
    (without ``rank``, numbered at read time after videos finished since are left out) and the
    category names in ``language`` for the pages.
    """

    version = models.ForeignKey(
        ModelVersion, verbose_name=_("model version"), on_delete=models.CASCADE, related_name="prepared_feeds"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    language = models.CharField(_("language"), max_length=16)
    # Text, not jsonb: the category names as JSON on the first line, then one item per line as
    # "<video id> <item JSON>" (``services.feeds``), so a request copies the items it sends unparsed.
    payload = models.TextField(_("payload"))
    # " 12 40 7 ": the ids of the videos it names (picks and reasons), to drop it when one changes.
    video_ids = models.TextField(_("video ids"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("prepared feed")
        verbose_name_plural = _("prepared feeds")
        constraints = [
            models.UniqueConstraint(fields=["version", "user", "language"], name="preparedfeed_unique"),
        ]

    def __str__(self) -> str:
        return f"v{self.version_id} {self.user_id} {self.language}"
