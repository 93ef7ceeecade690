from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideosConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "videos"
    verbose_name = _("Videos")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from videos.models import Category, Video
        from videos.selectors import home_catalog_clear

        # The cached home shelves (videos.selectors.home_catalog) follow every edit of the catalog.
        for model in (Video, Category):
            post_save.connect(home_catalog_clear, sender=model, dispatch_uid=f"home-catalog-saved-{model.__name__}")
            post_delete.connect(home_catalog_clear, sender=model, dispatch_uid=f"home-catalog-deleted-{model.__name__}")
