from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommenderConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommender"
    verbose_name = _("Recommender")
