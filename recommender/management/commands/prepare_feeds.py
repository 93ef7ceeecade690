from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.management.commands._versions import version_or_error
from recommender.selectors import active_version, active_version_cache_clear
from recommender.services.feeds import feeds_prepare


class Command(BaseCommand):
    help = (
        "(Re)write the prepared feeds (each viewer's feed ready to send, per language) of a model version: "
        "the active one without VERSION. A retrain prepares them itself; this is for a version published "
        "before prepared feeds existed, or after catalog edits dropped some."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("version", nargs="?", type=int, help="Model version id (default: the active one).")

    def handle(self, *args: Any, version: int | None = None, **options: Any) -> None:
        target = version_or_error(version) or active_version()
        if target is None:
            raise CommandError("There is no active model version; name one.")
        written = feeds_prepare(version=target)
        active_version_cache_clear()
        self.stdout.write(self.style.SUCCESS(f"Prepared {written} feeds of model version {target.pk}."))
