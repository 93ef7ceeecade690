#!/usr/bin/env python
"""In-process CPU per ``GET /api/recommendations/`` request: prepared feed versus the live rows.

No server, no network: Django's test client drives the whole stack (middleware, token
authentication, throttling, the view, JSON rendering) in this process, over a throwaway PostgreSQL
database filled with synthetic data (``--users`` viewers with tokens, 50 picks each). Prints the
CPU milliseconds of this process per request (``time.process_time``; the database server's share
is not in it), for the prepared path and for the live path (the same version with its prepared
feeds hidden), and with ``--profile`` the top functions of a cProfile run of the prepared path.

    .venv/bin/python bench/api_cpu.py --json

Instructions per request (machine-independent; see ``bench/page_cpu.py``): run it under callgrind with
``--skip-live --users 100`` and two values of ``--requests``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, database_drop, database_recreate, database_url_for, server_env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="bench_api_cpu")
    parser.add_argument("--users", type=int, default=943)
    parser.add_argument("--videos", type=int, default=1682)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument(
        "--cache-url",
        default=None,
        help="Redis URL of the cache that counts the throttles (default: the process's memory).",
    )
    parser.add_argument("--profile", action="store_true", help="Also print cProfile's top functions.")
    parser.add_argument("--skip-live", action="store_true", help="Measure the prepared path only.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    database_recreate(args.admin_url, args.db_name)
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-cpu-"))
    os.environ.update(server_env(database_url_for(args.admin_url, args.db_name), workdir, cache_url=args.cache_url))
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        tokens = _fill(args)
        result = {"benchmark": "api_cpu", "users": args.users, "requests": args.requests}
        result["prepared_ms"], profile = _measure(tokens, args, prepared=True)
        if not args.skip_live:
            result["live_ms"], _unused = _measure(tokens, args, prepared=False)
        print(json.dumps(result) if args.json else json.dumps(result, indent=2))
        if args.profile:
            print(profile)
        return 0
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(args.admin_url, args.db_name)


def _fill(args: argparse.Namespace) -> list[str]:
    import random

    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from recommender.models import ModelVersion, Recommendation
    from recommender.services.feeds import feeds_prepare
    from videos.models import Category, Video

    rng = random.Random(0)
    categories = [Category.objects.create(name=f"Category {i}", slug=f"c{i}") for i in range(18)]
    videos = Video.objects.bulk_create(
        Video(title=f"Film {i}", category=rng.choice(categories), duration_seconds=5400, tags="drama, classic")
        for i in range(args.videos)
    )
    User = get_user_model()
    users = User.objects.bulk_create(User(username=f"viewer{i}", password="!") for i in range(args.users))
    tokens = [Token.objects.create(user=user).key for user in users]
    version = ModelVersion.objects.create(
        status=ModelVersion.Status.ACTIVE,
        objective="expected_completion",
        last_event_id=0,
        metrics={"calibration": {"x": [0.0, 1.0], "y": [0.2, 0.9], "n": 100}},
    )
    rows = []
    for user in users:
        picks = rng.sample(videos, 51)
        rows += [
            Recommendation(version=version, user=user, video=v, score=1 - i / 60, rank=i + 1, reason_video=picks[50])
            for i, v in enumerate(picks[:50])
        ]
    Recommendation.objects.bulk_create(rows, batch_size=5000)
    feeds_prepare(version=version)
    return tokens


def _measure(tokens: list[str], args: argparse.Namespace, *, prepared: bool) -> tuple[float, str]:
    from django.core.cache import cache
    from django.test import Client

    from recommender.feed import PREPARED_KEY
    from recommender.models import ModelVersion

    version = ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE)
    metrics = dict(version.metrics)
    if not prepared:
        metrics.pop(PREPARED_KEY, None)
    ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
    cache.clear()
    client = Client()
    path = f"/api/recommendations/?limit={args.limit}"

    def run(n: int) -> None:
        for i in range(n):
            response = client.get(path, HTTP_AUTHORIZATION=f"Token {tokens[i % len(tokens)]}")
            assert response.status_code == 200, response.content[:300]

    run(50)  # warm-up
    start = time.process_time()
    run(args.requests)
    per_request = (time.process_time() - start) * 1000 / args.requests
    profile = ""
    if prepared:
        profiler = cProfile.Profile()
        profiler.runcall(run, min(args.requests, 500))
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(30)
        profile = out.getvalue()
    return round(per_request, 3), profile


if __name__ == "__main__":
    raise SystemExit(main())
