from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.exceptions import RetrainError
from recommender.management.commands._versions import version_or_error
from recommender.selectors import active_version
from recommender.services import version_rollback


class Command(BaseCommand):
    help = (
        "Serve an earlier model version again, instantly (its recommendations are still stored; nothing "
        "is retrained). Without VERSION: the newest version that was active before and is older than "
        "the active one, so running it again steps further back."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "version",
            nargs="?",
            type=int,
            help="Model version id to activate (retired, succeeded, or rejected with recommendations).",
        )

    def handle(self, *args: Any, version: int | None = None, **options: Any) -> None:
        target = version_or_error(version)
        active = active_version()
        previous = active.pk if active else None
        try:
            activated = version_rollback(version=target)
        except RetrainError as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
        was = f"version {previous}" if previous is not None else "no version"
        self.stdout.write(
            self.style.SUCCESS(
                f"Model version {activated.pk} is now active (was {was}); "
                f"{activated.n_recommendations} recommendations served."
            )
        )
