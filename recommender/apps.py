from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommenderConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommender"
    verbose_name = _("Recommender")

    def ready(self) -> None:
        # The Celery tasks, registered in every process, so that the services can send them by name
        # (eagerly in the zero-setup mode) without importing them.
        from recommender import tasks  # noqa: F401
        from recommender.services import scheduling
        from videos.hooks import after_watches_recorded_register

        # Recorded watches may queue an early retrain (every RETRAIN_AFTER_NEW_EVENTS events).
        after_watches_recorded_register(scheduling.on_watches_recorded)

        # A video or category edited or deleted: prepared feeds naming it are dropped (services.feeds).
        from django.db.models.signals import post_delete, post_save, pre_delete

        from recommender.services import feeds
        from videos.models import Category, Video

        post_save.connect(feeds.on_video_saved, sender=Video, dispatch_uid="feeds-video-saved")
        post_delete.connect(feeds.on_video_deleted, sender=Video, dispatch_uid="feeds-video-deleted")
        post_save.connect(feeds.on_category_saved, sender=Category, dispatch_uid="feeds-category-saved")
        pre_delete.connect(feeds.on_category_deleted, sender=Category, dispatch_uid="feeds-category-deleted")
