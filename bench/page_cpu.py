#!/usr/bin/env python
"""In-process CPU per page for logged-in viewers: ``/``, ``/recommended/``, ``/videos/``, ``/history/``.

No server, no network: Django's test client drives the whole stack (middleware, session, views,
templates) in this process, over the same throwaway PostgreSQL database as ``bench/page_load.py`` (the
demo data and a small trained model; DEBUG off). Rotates over ``--sessions`` logged-in demo viewers
and prints one JSON object: the CPU milliseconds of this process per request (``time.process_time``;
the database's share is not in it), the response size, and ``cpu_reference_s`` (see
``bench/common.py``). ``--profile PAGE`` adds cProfile's top functions for that page.

CPU time on a shared VM drifts by tens of per cent from hour to hour; the number of instructions does
not. Run under callgrind with two request counts, the difference divided by the difference in requests
is the instructions of one request (setup and warm-up cancel out):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python bench/page_cpu.py \
        --pages recommended --no-reference --requests 10   # then --requests 60; compare "Collected"

    .venv/bin/python bench/page_cpu.py --json --cache-url redis://127.0.0.1:6379/3
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import (
    ROOT,
    cpu_reference_seconds,
    database_drop,
    database_url_for,
    demo_site_prepare,
    server_env,
)

PAGES = {"home": "/", "recommended": "/recommended/", "videos": "/videos/", "history": "/history/"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="bench_page_cpu", help="Throwaway database to create and drop.")
    parser.add_argument("--cache-url", help="Redis URL for the cache (default: per-process memory).")
    parser.add_argument("--requests", type=int, default=300, help="Requests per page (default: %(default)s).")
    parser.add_argument("--sessions", type=int, default=16, help="Logged-in viewers to rotate over.")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--no-reference", action="store_true", help="Skip the CPU reference (for instruction counts, below)."
    )
    parser.add_argument(
        "--pages", default=",".join(PAGES), help="Comma-separated pages to measure (default: %(default)s)."
    )
    parser.add_argument("--profile", choices=sorted(PAGES), help="Also print cProfile's top functions for a page.")
    parser.add_argument("--json", action="store_true", help="Print only compact JSON.")
    args = parser.parse_args(argv)
    unknown = set(args.pages.split(",")) - set(PAGES)
    if unknown:
        parser.error(f"unknown page(s) {', '.join(sorted(unknown))}; known: {', '.join(PAGES)}")

    workdir = Path(tempfile.mkdtemp(prefix="bench-page-cpu-"))
    env = server_env(database_url_for(args.admin_url, args.db_name), workdir, cache_url=args.cache_url)
    try:
        demo_site_prepare(env, args.admin_url, args.db_name, epochs=args.epochs)
        os.environ.update(env)
        os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        out = {"benchmark": "page_cpu", "requests": args.requests, "pages": _measure(args)}
        if args.profile:
            out["profile"] = _profile(args)
        if not args.no_reference:
            out["cpu_reference_s"] = cpu_reference_seconds()
        profile = out.pop("profile", "")
        print(json.dumps(out) if args.json else json.dumps(out, indent=2))
        if profile:
            print(profile)
        return 0
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        database_drop(args.admin_url, args.db_name)
        shutil.rmtree(workdir, ignore_errors=True)


def _clients(args: argparse.Namespace) -> list:
    from django.contrib.auth import get_user_model
    from django.test import Client

    viewers = get_user_model().objects.filter(watch_events__isnull=False).distinct().order_by("pk")[: args.sessions]
    clients = []
    for viewer in viewers:
        client = Client()
        client.force_login(viewer)
        clients.append(client)
    if not clients:
        raise SystemExit("the demo data has no viewers with watches")
    return clients


def _measure(args: argparse.Namespace) -> dict:
    clients = _clients(args)
    results = {}
    for name, path in PAGES.items():
        if name not in args.pages.split(","):
            continue
        for client in clients:  # warm-up: caches, templates, connections
            assert client.get(path).status_code == 200
        started = time.process_time()
        for i in range(args.requests):
            response = clients[i % len(clients)].get(path)
        per_request = (time.process_time() - started) * 1000 / args.requests
        assert response.status_code == 200
        results[name] = {"cpu_ms_per_request": round(per_request, 2), "bytes": len(response.content)}
    return results


def _profile(args: argparse.Namespace) -> str:
    clients = _clients(args)
    path = PAGES[args.profile]
    for client in clients:  # warm-up, as in _measure: not the first request's set-up
        client.get(path)
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database are not this process's
    profiler.enable()
    for i in range(min(args.requests, 100)):
        clients[i % len(clients)].get(path)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
    return text.getvalue()


if __name__ == "__main__":
    raise SystemExit(main())
