#!/usr/bin/env python
"""Load benchmark of the two feed pages for logged-in viewers: ``/`` (home) and ``/recommended/``.

The same served site as ``bench/api_load.py`` (a throwaway PostgreSQL database with the demo data and a
small trained model, gunicorn on 127.0.0.1, DEBUG off, persistent connections), driven by wrk with the
session cookies of up to ``--sessions`` demo viewers (rotating). Prints one JSON object per run:
requests/s, latency percentiles, non-2xx responses and the CPU time per request of gunicorn,
PostgreSQL and wrk, plus the worker count and class.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``) and a PostgreSQL server that the admin URL may
create databases on.

    .venv/bin/python bench/page_load.py --json --connections 16
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from api_load import LUA_COMMON, _add_cpu, _wrk
from common import (
    cpu_reference_seconds,
    cpu_seconds,
    database_drop,
    database_url_for,
    demo_site_prepare,
    free_port,
    gunicorn_start,
    process_stop,
    server_env,
    site_fixture,
    wait_ready,
)

LUA_PAGE = """
local sessions = {%(sessions)s}
function request()
  n = n + 1
  local session = sessions[((n + thread_id * 7) %% #sessions) + 1]
  return wrk.format("GET", "%(path)s", {["Cookie"] = "%(cookie)s=" .. session, ["X-Forwarded-Proto"] = "https"})
end
"""
PAGES = {"home": "/", "recommended": "/recommended/"}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="bench_pages", help="Throwaway database to create and drop.")
    parser.add_argument("--cache-url", help="Redis URL for the cache (default: per-process memory).")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default: %(default)s).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per gunicorn worker (default: %(default)s).")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15, help="Seconds per page (default: %(default)s).")
    parser.add_argument("--sessions", type=int, default=16, help="Logged-in viewers to rotate over.")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--json", action="store_true", help="Print only compact JSON.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it with 'apt-get install -y wrk'")
    database_url = database_url_for(args.admin_url, args.db_name)
    workdir = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = server_env(database_url, workdir, cache_url=args.cache_url)
    server = None
    try:
        demo_site_prepare(env, args.admin_url, args.db_name, epochs=args.epochs)
        fixture = site_fixture(env, sessions=args.sessions)
        port = free_port()
        server = gunicorn_start(env, port, workers=args.workers, threads=args.threads)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, fixture["tokens"][0])
        lua = LUA_COMMON % {"tokens": "", "videos": ""}
        sessions = ", ".join(f'"{s}"' for s in fixture["sessions"])
        results = {}
        for name, path in PAGES.items():
            script = workdir / f"{name}.lua"
            script.write_text(
                lua + LUA_PAGE % {"sessions": sessions, "path": path, "cookie": fixture["session_cookie"]}
            )
            _wrk(url, script, args, duration=3)  # warm-up
            before = cpu_seconds(server.pid, args.db_name)
            results[name] = _wrk(url, script, args, duration=args.duration)
            _add_cpu(results[name], before, cpu_seconds(server.pid, args.db_name))
        out = {
            "benchmark": "page_load",
            "server": {
                "gunicorn_workers": args.workers,
                "worker_class": "sync" if args.threads == 1 else "gthread",
                "threads_per_worker": args.threads,
                "database": "postgresql",
            },
            "load": {"tool": "wrk", "connections": args.connections, "wrk_threads": args.wrk_threads},
            "data": {"logged_in_viewers": len(fixture["sessions"]), "videos": len(fixture["videos"])},
            "cpu_count": os.cpu_count(),
            "machine_load": os.getloadavg(),
            "cpu_reference_s": cpu_reference_seconds(),
            "pages": results,
        }
        print(json.dumps(out) if args.json else json.dumps(out, indent=2))
        return 0
    finally:
        process_stop(server)
        if not args.keep_db:
            database_drop(args.admin_url, args.db_name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
