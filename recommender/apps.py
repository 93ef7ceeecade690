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
