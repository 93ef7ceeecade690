from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VideosConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "videos"
    verbose_name = _("Videos")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from videos.cards import catalog_html_clear
        from videos.models import Category, Video

        # The cached home shelves (videos.cards.catalog_html) follow every edit of the catalog.
        for model in (Video, Category):
            post_save.connect(catalog_html_clear, sender=model, dispatch_uid=f"home-catalog-saved-{model.__name__}")
            post_delete.connect(catalog_html_clear, sender=model, dispatch_uid=f"home-catalog-deleted-{model.__name__}")
