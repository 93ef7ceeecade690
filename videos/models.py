"""Catalog and watch data."""

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Category(models.Model):
    """A catalog section. ``name`` is the English (default) name; each other language of the site has
    a ``name_<language>`` field, shown to viewers of that language when it is filled in."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_zh_hans = models.CharField(
        _("name in simplified Chinese"),
        max_length=100,
        blank=True,
        help_text=_("Shown to viewers who chose 简体中文; the English name when empty."),
    )
    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)

    # language code -> the field holding the name in that language
    TRANSLATED_NAMES = {"zh-hans": "name_zh_hans"}

    class Meta:
        ordering = ["name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = slugify(self.name, allow_unicode=True) or "category"
        if not self.name_zh_hans:
            from videos.category_names import ZH_HANS

            self.name_zh_hans = ZH_HANS.get(self.name, "")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("category", args=[self.slug])

    @property
    def display_name(self) -> str:
        """The name in the active language, or the English name when it has none."""
        return self.name_in(get_language() or "")

    def name_in(self, language: str) -> str:
        """The name in ``language`` (a language code), or the English name when it has none."""
        field = self.TRANSLATED_NAMES.get(language.lower())
        return (getattr(self, field) if field else "") or self.name


class Video(models.Model):
    title = models.CharField(_("title"), max_length=255, unique=True)
    description = models.TextField(_("description"), blank=True)
    duration_seconds = models.PositiveIntegerField(
        _("duration (seconds)"), default=0, help_text=_("Length of the video in seconds; 0 if unknown.")
    )
    media_url = models.URLField(
        _("media URL"), max_length=500, blank=True, help_text=_("Address of the playable video file.")
    )
    thumbnail_url = models.URLField(_("thumbnail URL"), max_length=500, blank=True)
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="videos",
    )
    tags = models.CharField(_("tags"), max_length=255, blank=True, help_text=_("Comma-separated keywords."))
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Id of this video in the system it was imported from, e.g. movielens:123."),
    )

    class Meta:
        ordering = ["title"]
        verbose_name = _("video")
        verbose_name_plural = _("videos")

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("video-detail", args=[self.pk])

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class WatchEvent(models.Model):
    """One watch of a video by a user and how far they got (completion in [0, 1]).

    A user may watch a video several times; the training matrix reduces all events of one
    (user, video) pair to one value with ``settings.WATCH_AGGREGATE`` (default: the maximum).
    """

    class Source(models.TextChoices):
        # Without a Django plugin mypy reads each member as its (value, label) tuple; at run time it is
        # a str (the value), which is what the type checker is told.
        if TYPE_CHECKING:
            WEB: str
            API: str
            IMPORT: str
            ADMIN: str
        else:
            WEB = "web", _("web")
            API = "api", _("API")
            IMPORT = "import", _("import")
            ADMIN = "admin", _("admin")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="watch_events",
        db_index=False,  # the (user, video) index serves every lookup by user
    )
    video = models.ForeignKey(Video, verbose_name=_("video"), on_delete=models.CASCADE, related_name="watch_events")
    completion = models.FloatField(
        _("completion"), help_text=_("Share of the video watched, from 0 (not at all) to 1 (to the end).")
    )
    watched_at = models.DateTimeField(_("watched at"), default=timezone.now, db_index=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.WEB)
    # NULL, not "", for "no id": the per-user unique constraint must ignore events without one.
    client_event_id = models.CharField(  # noqa: DJ001
        _("client event id"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("Optional id chosen by the client; a retry with the same id is stored once."),
    )

    class Meta:
        ordering = ["-watched_at", "-id"]
        verbose_name = _("watch event")
        verbose_name_plural = _("watch events")
        constraints = [
            models.CheckConstraint(
                condition=Q(completion__gte=0.0) & Q(completion__lte=1.0),
                name="watchevent_completion_range",
                violation_error_message=_("Completion must be between 0 and 1."),
            ),
            models.UniqueConstraint(
                fields=["user", "client_event_id"],
                condition=Q(client_event_id__isnull=False),
                name="watchevent_unique_client_event_id",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "video"], name="watchevent_user_video"),
            # A viewer's events after a given id: the feed drops the videos finished since a version's
            # data was read on every request (a few rows, not all of the viewer's history).
            models.Index(fields=["user", "id"], name="watchevent_user_since"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.video} ({self.completion:.0%})"
