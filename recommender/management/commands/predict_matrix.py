import csv
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.exceptions import RetrainError
from recommender.inspection import predicted_matrix


class Command(BaseCommand):
    help = (
        "Print the active model's predicted completion for every user × video cell on a 0..SCALE scale, "
        "like the reference program's table. Watched cells are marked with '*' in the table format. "
        "Refuses above PREDICT_MATRIX_MAX_CELLS cells."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=["table", "csv"], default="table", help="Output format (default table)."
        )
        parser.add_argument("--scale", type=float, default=10.0, help="Multiply predictions by this (default 10).")

    def handle(self, *args: Any, format: str, scale: float, **options: Any) -> None:
        try:
            result = predicted_matrix()
        except RetrainError as exc:
            raise CommandError(str(exc).splitlines()[0]) from None
        values = result.values * scale
        if format == "csv":
            writer = csv.writer(self.stdout)
            writer.writerow(["user", *result.videos])
            for name, row in zip(result.users, values, strict=True):
                writer.writerow([name, *(f"{v:.2f}" for v in row)])
            return
        width = max(7, *(len(v) for v in result.videos))
        name_width = max(4, *(len(u) for u in result.users))
        self.stdout.write(f"Model version {result.version.pk}; predictions × {scale:g}; * = watched")
        self.stdout.write(" " * name_width + "".join(f" {v:>{width}}" for v in result.videos))
        for name, row, seen in zip(result.users, values, result.observed, strict=True):
            cells = "".join(f" {f'{v:.1f}' + ('*' if s else ' '):>{width}}" for v, s in zip(row, seen, strict=True))
            self.stdout.write(f"{name:<{name_width}}{cells}")
