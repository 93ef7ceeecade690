from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videos.services import MatrixImportError, matrix_import


class Command(BaseCommand):
    help = (
        "Import a wide completion matrix from CSV: first column user name, one column per video title, "
        "cells = completion on a 0..SCALE scale, empty cell = not watched. Users and videos are created "
        "as needed (names and titles must follow the site's rules). All-or-nothing: a bad cell aborts "
        "the import and names its row and column. The admin's CSV import uses the same checks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file to import.")
        parser.add_argument(
            "--scale",
            type=float,
            default=10.0,
            help="Value that means 'watched to the end' (default 10: cells 1..10 become 0.1..1.0).",
        )

    def handle(self, *args: Any, path: str, scale: float, **options: Any) -> None:
        try:
            result = matrix_import(path=path, scale=scale)
        except MatrixImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.events_created} watch events "
                f"({result.users_created} new users, {result.videos_created} new videos)."
            )
        )
