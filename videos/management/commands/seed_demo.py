from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from videos.demo import CLIP_TITLE, DEMO_PASSWORD, DEMO_USERNAME, PROFILES, demo_seed


class Command(BaseCommand):
    help = (
        f"Create a demo catalog (videos in several categories) and {len(PROFILES)} demo viewers with distinct "
        "tastes, plus a demo login. Safe to run again: existing demo data is kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=7, help="Random seed for the synthetic watches.")
        parser.add_argument(
            "--media-base-url",
            default="",
            help=f"Address the site is served at (e.g. http://127.0.0.1:8000): the demo video “{CLIP_TITLE}” "
            "then plays the small clip shipped in static/.",
        )

    def handle(self, *args: Any, seed: int, media_base_url: str, **options: Any) -> None:
        if media_base_url:
            try:
                URLValidator(schemes=["http", "https"])(media_base_url)
            except ValidationError:
                raise CommandError(f"--media-base-url: {media_base_url!r} is not an http(s) address.") from None
        result = demo_seed(seed=seed, media_base_url=media_base_url)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {result.videos} videos, {result.users} viewers, {result.events} new watch events."
            )
        )
        self.stdout.write(f"Log in as '{DEMO_USERNAME}' with password '{DEMO_PASSWORD}'.")
