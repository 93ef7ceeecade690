"""Demo catalog and viewers with structured tastes, so a fresh site looks alive and recommends sensibly.

Each demo viewer likes one or two categories: they watch many videos there and mostly finish them,
and sample a few videos elsewhere that they abandon early. A trained model should therefore
recommend the unwatched videos of a viewer's favourite categories. The ``demo`` viewer also has a
few videos half watched, so "Continue watching" has something to show.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.templatetags.static import static
from django.utils import timezone

from videos.models import Category, Video, WatchEvent

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "watch-and-learn"

# The one demo video with a playable file: a short clip shipped in static/ (scripts/make_demo_clip.sh).
CLIP_TITLE = "Six Seconds of Test Pattern"
CLIP_CATEGORY = "Technology"
CLIP_STATIC_PATH = "media/demo-clip.webm"

# category -> [(title, description)]
CATALOG: dict[str, list[tuple[str, str]]] = {
    "Cooking": [
        ("Knife Skills in Ten Minutes", "Hold, rock and slice: the three cuts that make every recipe faster."),
        ("Perfect Sourdough at Home", "From a bubbly starter to an open crumb, with one overnight rise."),
        ("Weeknight Stir-Fry", "A smoking wok, a simple sauce and dinner on the table in twenty minutes."),
        ("Hand-Pulled Noodles", "Stretch, fold and slap: how a single lump of dough becomes noodles."),
        ("The Science of Searing", "Why a dry pan and patience give meat and tofu their golden crust."),
        ("Dumplings Four Ways", "Boiled, steamed, pan-fried and in soup, with two fillings to try."),
        ("Vegetable Stocks and Broths", "Turn peelings and stalks into a deep, clear base for soups."),
        ("Baking Without Scales", "Cups, spoons and the ratios that matter when you have no scale."),
    ],
    "Science": [
        ("Why the Sky Is Blue", "Sunlight, air molecules and the scattering that paints the sky."),
        ("A Short History of the Atom", "From Democritus to quarks in fifteen minutes."),
        ("How Vaccines Train the Body", "What antibodies and memory cells learn from a harmless preview."),
        ("Black Holes Explained", "Event horizons, spaghettification and the first picture of a shadow."),
        ("The Chemistry of Colour", "Pigments, dyes and the electrons that decide what we see."),
        ("Plate Tectonics in Motion", "How continents drift, mountains rise and earthquakes happen."),
        ("What Is Entropy?", "Disorder, probability and why time only runs one way."),
        ("Inside a Living Cell", "A guided tour of the busiest factory you will ever see."),
    ],
    "Travel": [
        ("Slow Trains Across the Alps", "Glaciers, viaducts and villages from the window of a regional train."),
        ("Night Markets of Taipei", "Stinky tofu, oyster omelettes and the best bubble tea we found."),
        ("Hiking the Fjords", "Three days on foot above the water, with huts and honest advice."),
        ("Three Days in Lisbon", "Trams, tiles and custard tarts: a walkable plan for a long weekend."),
        ("The Silk Road Today", "Markets and mountain passes along the old caravan routes."),
        ("Islands of the Aegean", "Ferries, white villages and quiet beaches outside the high season."),
        ("Desert Nights in Morocco", "Camels, dunes and a sky full of stars far from any city light."),
        ("Kyoto in Autumn", "Temples and gardens at the peak of the maple season."),
    ],
    "Music": [
        ("Learning Scales on Piano", "Fingerings that stick, and a practice plan that does not bore."),
        ("The Story of the Blues", "From the Mississippi Delta to Chicago's electric clubs."),
        ("Erhu for Beginners", "Holding the bow, finding the notes and your first melody on two strings."),
        ("How a Symphony Is Built", "Four movements, one idea: taking a classic symphony apart."),
        ("Rhythm and the Drum Kit", "Grooves, fills and counting so the band can follow you."),
        ("Writing Your First Song", "A chorus, a verse and a bridge from one simple chord loop."),
        ("Guitar Chords That Matter", "The eight shapes behind most of the songs you know."),
        ("Jazz Improvisation Basics", "Play over changes with guide tones, not just the scale."),
    ],
    "Fitness": [
        ("Morning Mobility Routine", "Ten minutes to wake up hips, shoulders and spine."),
        ("Bodyweight Strength", "Push, pull and squat progressions with no equipment at all."),
        ("Tai Chi Fundamentals", "Stance, breathing and the first form, slowly and clearly."),
        ("Running Form Clinic", "Cadence, posture and foot strike explained with slow motion."),
        ("Yoga for Desk Workers", "Undo a day of sitting with a gentle twenty-minute flow."),
        ("Kettlebell Basics", "The swing, the goblet squat and the get-up done safely."),
        ("Stretching After Work", "A calm routine for tight hamstrings and a stiff neck."),
        ("Interval Training Explained", "Why short hard efforts work, and how to plan them."),
    ],
    "Technology": [
        ("How the Internet Routes a Packet", "Follow one message across routers, cables and continents."),
        ("Neural Networks from Scratch", "Neurons, layers and gradient descent with a pencil and numpy."),
        ("Databases Under the Hood", "Pages, indexes and transactions: what a query really does."),
        ("Building a Web App with Django", "Models, views and templates from an empty folder to a site."),
        ("What Makes Code Readable", "Names, small functions and the art of deleting code."),
        ("A Tour of Linux", "Processes, files and the shell, explained for the curious."),
        ("Git Without Fear", "Commits, branches and how to undo almost anything."),
        ("Recommender Systems in Practice", "From watch history to \u201cbecause you watched\u201d, step by step."),
    ],
    "Nature": [
        ("Life in a Rock Pool", "Crabs, anemones and the tiny world the tide leaves behind."),
        ("The Secret Life of Trees", "How forests share water, sugar and warnings underground."),
        ("Migration of the Cranes", "Thousands of kilometres on wings, following ancient routes."),
        ("Coral Reefs at Night", "When the reef wakes up: hunters and glowing plankton."),
        ("Bees and Their Dances", "How a forager tells the hive exactly where the flowers are."),
        ("Mountains in Four Seasons", "One valley filmed from the first snow to the last flowers."),
        ("Octopus Intelligence", "Puzzles, camouflage and a brain spread through eight arms."),
        ("Wild Pandas of Sichuan", "Bamboo forests, cameras in the mist and a rare family."),
    ],
    "History": [
        ("The Great Wall Up Close", "Who built it, how, and what it was really for."),
        ("Printing Changes Everything", "Movable type and the books that spread new ideas."),
        ("Life in Ancient Rome", "Streets, baths and a day in the life of an ordinary Roman."),
        ("The Age of Sail", "Ships, stars and the sailors who mapped the oceans."),
        ("Tea and Empire", "How one leaf shaped trade, wars and daily life."),
        ("Castles and Sieges", "Walls, towers and the long patience of a medieval siege."),
        ("The Space Race", "Rockets, rivalry and the first steps on the Moon."),
        ("Lost Cities of the Maya", "Pyramids in the jungle and the writing that was finally read."),
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
    ("xia", ("Nature",)),
    ("yara", ("History", "Travel")),
    ("zane", ("Nature", "Science")),
    ("aiko", ("History",)),
    ("bao", ("Nature", "Fitness")),
    ("cleo", ("History", "Music")),
    ("dev", ("Technology", "History")),
    ("eva", ("Nature", "Cooking")),
]

# The demo viewer has this many liked videos started but not finished ("Continue watching").
DEMO_IN_PROGRESS = 3


@dataclass(frozen=True)
class DemoResult:
    videos: int
    users: int
    events: int


def _catalog_create(now: datetime, media_base_url: str) -> dict[str, list[Video]]:
    videos_by_category: dict[str, list[Video]] = {}
    n_categories = len(CATALOG)
    for c_index, (category_name, entries) in enumerate(CATALOG.items()):
        category, _ = Category.objects.get_or_create(name=category_name)
        videos_by_category[category_name] = []
        for v_index, (title, description) in enumerate(entries):
            video, _ = Video.objects.get_or_create(
                title=title,
                defaults={
                    "category": category,
                    "description": description,
                    "duration_seconds": 240 + 60 * ((c_index * 7 + v_index * 5) % 22) + 7 * v_index,
                    "tags": f"{category_name.lower()}, demo",
                    # Interleaved so that "New" shows every category, newest first.
                    "created_at": now - timedelta(days=2 * (v_index * n_categories + c_index) + 1),
                },
            )
            videos_by_category[category_name].append(video)
    clip, _ = Video.objects.get_or_create(
        title=CLIP_TITLE,
        defaults={
            "category": Category.objects.get(name=CLIP_CATEGORY),
            "description": "A tiny clip shipped with the site, so the player works without any network: "
            "play it and your progress is recorded as you watch.",
            "duration_seconds": 6,
            "tags": "demo, player",
            "created_at": now,
        },
    )
    if media_base_url:
        media_url = media_base_url.rstrip("/") + static(CLIP_STATIC_PATH)
        if clip.media_url != media_url:
            clip.media_url = media_url
            clip.save(update_fields=["media_url"])
    return videos_by_category


@transaction.atomic
def demo_seed(*, seed: int = 7, media_base_url: str = "") -> DemoResult:
    """Create (or complete) the demo catalog and viewers. Safe to run more than once.

    ``media_base_url`` (e.g. ``http://127.0.0.1:8000``) is where the site is served; when given, the
    demo clip's media URL points at the clip in ``static/`` so the page shows a working player.
    """
    rng = random.Random(seed)
    User = get_user_model()
    now = timezone.now()
    videos_by_category = _catalog_create(now, media_base_url)

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
                        watched_at=now - timedelta(hours=rng.randint(24, 24 * 60)),
                    )
                )
        if username == DEMO_USERNAME:
            # A few liked videos started recently and not finished yet.
            liked_events = [e for e in batch if e.completion >= 0.75]
            for event in rng.sample(liked_events, min(DEMO_IN_PROGRESS, max(0, len(liked_events) - 4))):
                event.completion = round(rng.uniform(0.3, 0.7), 3)
                event.watched_at = now - timedelta(minutes=rng.randint(5, 23 * 60))
        WatchEvent.objects.bulk_create(batch)
        events += len(batch)
    return DemoResult(videos=Video.objects.count(), users=len(PROFILES), events=events)
