from django.core.management.base import BaseCommand

from videos.demo import DEMO_PASSWORD, DEMO_USERNAME, demo_seed


class Command(BaseCommand):
    help = (
        "Create a demo catalog (videos in six categories) and demo viewers with distinct tastes, plus a "
        "demo login. Safe to run again: existing demo data is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=7, help="Random seed for the synthetic watches.")

    def handle(self, *args, seed, **options):
        result = demo_seed(seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {result.videos} videos, {result.users} viewers, {result.events} new watch events."
            )
        )
        self.stdout.write(f"Log in as '{DEMO_USERNAME}' with password '{DEMO_PASSWORD}'.")
