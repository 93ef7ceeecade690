from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from videos.movielens import MovieLensError, movielens_load


class Command(BaseCommand):
    help = (
        "Load a MovieLens folder as watch data: MovieLens 100K (u.data + u.item) or ml-latest-small "
        "(ratings.csv + movies.csv). Completion = rating / max rating; genres become categories. Running it "
        "again stores nothing twice. On PostgreSQL into an empty watch-event table (a first import) the "
        "table's indexes are rebuilt once at the end; other sessions wait for the import to commit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="Folder holding the MovieLens files.")
        parser.add_argument(
            "--ratings-file",
            help="Ratings file inside the folder to load instead of the full one (e.g. u1.base).",
        )

    def handle(self, *args: Any, path: str, ratings_file: str | None, **options: Any) -> None:
        try:
            result = movielens_load(path, ratings_file=ratings_file)
        except (MovieLensError, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {result.layout}: {result.events_created} new watch events of {result.events_total} "
                f"({result.users_created} new users, {result.videos_created} new videos)."
            )
        )
