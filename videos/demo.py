"""Demo catalog and viewers with structured tastes, so a fresh site has sensible recommendations.

Each demo viewer likes one or two categories: they watch many videos there and mostly finish them,
and sample a few videos elsewhere that they abandon early. A trained model should therefore
recommend the unwatched videos of a viewer's favourite categories.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from videos.models import Category, Video, WatchEvent

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "watch-and-learn"

CATALOG: dict[str, list[str]] = {
    "Cooking": [
        "Knife Skills in Ten Minutes",
        "Perfect Sourdough at Home",
        "Weeknight Stir-Fry",
        "Hand-Pulled Noodles",
        "The Science of Searing",
        "Dumplings Four Ways",
        "Vegetable Stocks and Broths",
        "Baking Without Scales",
    ],
    "Science": [
        "Why the Sky Is Blue",
        "A Short History of the Atom",
        "How Vaccines Train the Body",
        "Black Holes Explained",
        "The Chemistry of Colour",
        "Plate Tectonics in Motion",
        "What Is Entropy?",
        "Inside a Living Cell",
    ],
    "Travel": [
        "Slow Trains Across the Alps",
        "Night Markets of Taipei",
        "Hiking the Fjords",
        "Three Days in Lisbon",
        "The Silk Road Today",
        "Islands of the Aegean",
        "Desert Nights in Morocco",
        "Kyoto in Autumn",
    ],
    "Music": [
        "Learning Scales on Piano",
        "The Story of the Blues",
        "Erhu for Beginners",
        "How a Symphony Is Built",
        "Rhythm and the Drum Kit",
        "Writing Your First Song",
        "Guitar Chords That Matter",
        "Jazz Improvisation Basics",
    ],
    "Fitness": [
        "Morning Mobility Routine",
        "Bodyweight Strength",
        "Tai Chi Fundamentals",
        "Running Form Clinic",
        "Yoga for Desk Workers",
        "Kettlebell Basics",
        "Stretching After Work",
        "Interval Training Explained",
    ],
    "Technology": [
        "How the Internet Routes a Packet",
        "Neural Networks from Scratch",
        "Databases Under the Hood",
        "Building a Web App with Django",
        "What Makes Code Readable",
        "A Tour of Linux",
        "Git Without Fear",
        "Recommender Systems in Practice",
    ],
}

# (username, favourite categories) — distinct tastes, overlapping enough to learn from.
PROFILES: list[tuple[str, tuple[str, ...]]] = [
    ("demo", ("Technology", "Science")),
    ("alice", ("Cooking",)),
    ("bob", ("Science", "Technology")),
    ("chen", ("Travel", "Cooking")),
    ("dana", ("Music",)),
    ("eli", ("Fitness", "Travel")),
    ("fang", ("Music", "Travel")),
    ("gus", ("Technology",)),
    ("hana", ("Cooking", "Fitness")),
    ("ivan", ("Science",)),
    ("jun", ("Travel",)),
    ("kim", ("Fitness",)),
    ("lena", ("Music", "Science")),
    ("ming", ("Cooking", "Travel")),
    ("nora", ("Technology", "Music")),
    ("omar", ("Fitness", "Science")),
    ("pia", ("Travel", "Music")),
    ("quinn", ("Cooking", "Science")),
    ("rosa", ("Technology", "Fitness")),
    ("sam", ("Science", "Travel")),
    ("tao", ("Music", "Cooking")),
    ("uma", ("Fitness", "Technology")),
    ("vic", ("Travel", "Technology")),
    ("wen", ("Cooking", "Music")),
]


@dataclass(frozen=True)
class DemoResult:
    videos: int
    users: int
    events: int


@transaction.atomic
def demo_seed(*, seed: int = 7) -> DemoResult:
    """Create (or complete) the demo catalog and viewers. Safe to run more than once."""
    rng = random.Random(seed)
    User = get_user_model()
    now = timezone.now()
    videos_by_category: dict[str, list[Video]] = {}
    for c_index, (category_name, titles) in enumerate(CATALOG.items()):
        category, _ = Category.objects.get_or_create(name=category_name)
        videos_by_category[category_name] = []
        for v_index, title in enumerate(titles):
            video, _ = Video.objects.get_or_create(
                title=title,
                defaults={
                    "category": category,
                    "description": f"{title}: a {category_name.lower()} video from the demo catalog.",
                    "duration_seconds": 180 + 60 * ((c_index * 7 + v_index * 3) % 20),
                    "tags": category_name.lower(),
                    "created_at": now - timedelta(days=3 * (c_index * 8 + v_index)),
                },
            )
            videos_by_category[category_name].append(video)

    events = 0
    for username, favourites in PROFILES:
        user, created = User.objects.get_or_create(username=username)
        if created:
            if username == DEMO_USERNAME:
                user.set_password(DEMO_PASSWORD)
            else:
                user.set_unusable_password()
            user.save()
        if WatchEvent.objects.filter(user=user).exists():
            continue
        batch = []
        for category_name, videos in videos_by_category.items():
            liked = category_name in favourites
            # Leave some liked videos unwatched so there is something good to recommend.
            share = 0.6 if liked else 0.15
            if username == DEMO_USERNAME and liked:
                share = 0.45
            for video in videos:
                if rng.random() >= share:
                    continue
                completion = rng.uniform(0.75, 1.0) if liked else rng.uniform(0.02, 0.3)
                batch.append(
                    WatchEvent(
                        user=user,
                        video=video,
                        completion=round(completion, 3),
                        source=WatchEvent.Source.IMPORT,
                        watched_at=now - timedelta(hours=rng.randint(1, 24 * 60)),
                    )
                )
        WatchEvent.objects.bulk_create(batch)
        events += len(batch)
    return DemoResult(videos=Video.objects.count(), users=len(PROFILES), events=events)
