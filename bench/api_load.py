#!/usr/bin/env python
"""Load benchmark of the REST API: gunicorn + PostgreSQL on this machine, driven by wrk over loopback.

1. Creates a throwaway PostgreSQL database (default ``bench_api``; dropped at the end), migrates
   it, collects the static files, loads the demo data (``seed_demo``) and trains a small model
   (``retrain``), so every demo viewer has published recommendations.
2. Serves the site with gunicorn on 127.0.0.1 (DEBUG off, persistent database connections, rate
   limits raised so that the limiter's bookkeeping runs but never refuses).
3. Runs wrk against ``GET /api/recommendations/`` and ``POST /api/events/`` (token
   authentication, rotating over the demo viewers; every POST carries a fresh client_event_id)
   and prints one JSON object: requests/s, latency percentiles, non-2xx responses, and for the
   events the number of rows actually stored per second.

With ``--movielens DIR`` it loads MovieLens 100K (943 viewers, every one with a token) instead of
the demo data; ``--get-connections 4,16`` measures the GET at each connection count (the p95 at 4,
the throughput at 16). The gunicorn worker count and class are pinned by the arguments and printed.
Throttling stays on (DRF's limiter records every request in the cache) with limits too high to
refuse.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``) and a PostgreSQL server that the given admin
URL may create databases on.

    .venv/bin/python bench/api_load.py --json
    .venv/bin/python bench/api_load.py --json --movielens var/ml-100k --workers 4 --get-connections 4,16
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from common import (
    cpu_reference_seconds,
    cpu_seconds,
    database_drop,
    database_recreate,
    database_url_for,
    free_port,
    gunicorn_start,
    manage,
    process_stop,
    server_env,
    site_fixture,
    wait_ready,
)

LUA_COMMON = """
local tokens = {%(tokens)s}
local videos = {%(videos)s}
local thread_counter = 0

function setup(thread)
  thread:set("thread_id", thread_counter)
  thread_counter = thread_counter + 1
end

function init(args)
  n = 0
  math.randomseed(thread_id * 7919 + 17)
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "non_2xx_3xx": %%d, "connect_errors": %%d, ' ..
    '"read_errors": %%d, "write_errors": %%d, "timeouts": %%d, "p50_us": %%d, "p90_us": %%d, ' ..
    '"p95_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.1f}\\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
"""

LUA_GET = """
function request()
  n = n + 1
  local token = tokens[((n + thread_id * 7) %% #tokens) + 1]
  return wrk.format("GET", "/api/recommendations/?limit=%(limit)d", {["Authorization"] = "Token " .. token})
end
"""

LUA_POST = """
function request()
  n = n + 1
  local token = tokens[((n + thread_id * 7) %% #tokens) + 1]
  local body = string.format(
    '{"video": %%d, "completion": %%.2f, "client_event_id": "wrk-%%d-%%d"}',
    videos[math.random(#videos)], math.random(0, 100) / 100, thread_id, n)
  return wrk.format("POST", "/api/events/",
    {["Authorization"] = "Token " .. token, ["Content-Type"] = "application/json"}, body)
end
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--admin-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL URL allowed to CREATE/DROP DATABASE (default: %(default)s).",
    )
    parser.add_argument("--db-name", default="bench_api", help="Throwaway database to create and drop.")
    parser.add_argument("--cache-url", help="Redis URL for the rate-limit cache (default: per-process memory).")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default: %(default)s).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per gunicorn worker (default: %(default)s).")
    parser.add_argument("--connections", type=int, default=32, help="Concurrent wrk connections (16-32).")
    parser.add_argument(
        "--get-connections",
        default="",
        help="Comma-separated connection counts for the GET, e.g. 4,16 (default: --connections).",
    )
    parser.add_argument("--movielens", help="Folder of MovieLens 100K: load it instead of the demo data.")
    parser.add_argument("--skip-events", action="store_true", help="Measure only the GET.")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default: %(default)s).")
    parser.add_argument("--duration", type=int, default=15, help="Seconds per endpoint (default: %(default)s).")
    parser.add_argument("--limit", type=int, default=20, help="Recommendations per GET (default: %(default)s).")
    parser.add_argument("--epochs", type=int, default=5, help="Epochs of the model trained for the run.")
    parser.add_argument("--keep-db", action="store_true", help="Do not drop the database at the end.")
    parser.add_argument("--json", action="store_true", help="Print only compact JSON.")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: install it with 'apt-get install -y wrk'")
    if not 1 <= args.connections <= 1000 or args.duration < 1:
        raise SystemExit("--connections must be 1..1000 and --duration at least 1")

    import psycopg

    database_url = database_url_for(args.admin_url, args.db_name)
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    # No broker: nothing of this run may reach a shared Redis queue (and eager Celery never
    # queues a retrain from the web process). Only the cache may use Redis, when asked to.
    env = server_env(database_url, workdir, cache_url=args.cache_url)
    huge = "1000000000/minute"
    env.update({"API_THROTTLE_ANON": huge, "API_THROTTLE_USER": huge, "API_THROTTLE_EVENTS": huge})
    server = None
    try:
        database_recreate(args.admin_url, args.db_name)
        log = _log(args)
        log("migrate + seed_demo + retrain ...")
        manage(env, "migrate", "--noinput", "-v", "0")
        # DEBUG off: static URLs (the demo clip's too) come from collectstatic's manifest.
        manage(env, "collectstatic", "--noinput", "-v", "0", timeout=300)
        if args.movielens:
            manage(env, "load_movielens", args.movielens)
        else:
            manage(env, "seed_demo")
        manage(env, "retrain", "--no-progress", "--epochs", str(args.epochs), "--embedding-dim", "16")
        fixture = site_fixture(env)

        port = free_port()
        log(f"gunicorn on 127.0.0.1:{port} ({args.workers} workers x {args.threads} threads) ...")
        server = gunicorn_start(env, port, workers=args.workers, threads=args.threads)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, fixture["tokens"][0])

        lua = LUA_COMMON % {
            "tokens": ", ".join(f'"{t}"' for t in fixture["tokens"]),
            "videos": ", ".join(str(v) for v in fixture["videos"]),
        }
        get_script = workdir / "get.lua"
        get_script.write_text(lua + LUA_GET % {"limit": args.limit})
        post_script = workdir / "post.lua"
        post_script.write_text(lua + LUA_POST % {})

        log("GET /api/recommendations/ ...")
        _wrk(url, get_script, args, duration=3)  # warm-up: connections, imports, caches
        by_connections = {}
        for connections in _connection_counts(args):
            cpu_before = cpu_seconds(server.pid, args.db_name)
            measured = _wrk(url, get_script, args, duration=args.duration, connections=connections)
            _add_cpu(measured, cpu_before, cpu_seconds(server.pid, args.db_name))
            by_connections[str(connections)] = measured
        recommendations = by_connections[str(_connection_counts(args)[-1])]
        if len(by_connections) > 1:
            recommendations = {"by_connections": by_connections}
        if args.skip_events:
            events: dict = {"skipped": True}
        else:
            events = _events_run(psycopg, database_url, url, post_script, server, args)

        result = {
            "benchmark": "api_load",
            "server": {
                "gunicorn_workers": args.workers,
                "worker_class": "gthread" if args.threads > 1 else "sync",
                "threads_per_worker": args.threads,
                "database": "postgresql",
                "throttling": "on (limits too high to refuse)",
                "throttle_cache": "redis" if args.cache_url else "local memory",
            },
            "dataset": "movielens" if args.movielens else "seed_demo",
            "load": {
                "tool": "wrk",
                "connections": args.connections,
                "get_connections": _connection_counts(args),
                "wrk_threads": args.wrk_threads,
            },
            "machine_load": os.getloadavg(),
            "cpu_reference_s": cpu_reference_seconds(),
            "data": {"users_with_tokens": len(fixture["tokens"]), "videos": len(fixture["videos"])},
            "cpu_count": os.cpu_count(),
            "get_recommendations": recommendations,
            "post_events": events,
        }
        print(json.dumps(result) if args.json else json.dumps(result, indent=2))
        return 0
    finally:
        process_stop(server)
        if not args.keep_db:
            database_drop(args.admin_url, args.db_name)
        shutil.rmtree(workdir, ignore_errors=True)


def _log(args):
    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    return log


def _connection_counts(args) -> list[int]:
    counts = [int(c) for c in args.get_connections.split(",") if c.strip()] or [args.connections]
    if not all(1 <= c <= 1000 for c in counts):
        raise SystemExit("--get-connections must be counts from 1 to 1000")
    return counts


def _events_run(psycopg, database_url: str, url: str, post_script: Path, server, args) -> dict:
    _log(args)("POST /api/events/ ...")
    before = _count_events(psycopg, database_url)
    cpu_before = cpu_seconds(server.pid, args.db_name)
    events = _wrk(url, post_script, args, duration=args.duration)
    _add_cpu(events, cpu_before, cpu_seconds(server.pid, args.db_name))
    stored = _count_events(psycopg, database_url) - before
    events["events_stored"] = stored
    events["events_stored_per_s"] = round(stored / (events["duration_s"] or 1), 1)
    return events


def _count_events(psycopg, database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM videos_watchevent").fetchone()[0]


def _add_cpu(result: dict, before: dict[str, float], after: dict[str, float]) -> None:
    n = max(result["requests"], 1)
    result["cpu_ms_per_request"] = {
        part: round((after[part] - before[part]) * 1000 / n, 2) for part in ("server", "database", "load")
    }


def _wrk(url: str, script: Path, args, *, duration: int, connections: int | None = None) -> dict:
    connections = connections or args.connections
    completed = subprocess.run(
        [
            "wrk",
            "--threads",
            str(min(args.wrk_threads, connections)),
            "--connections",
            str(connections),
            "--duration",
            f"{duration}s",
            "--timeout",
            "10s",
            "--script",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit("wrk printed no summary:\n" + textwrap.indent(completed.stdout + completed.stderr, "  "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["non_2xx_3xx"]
    return {
        "duration_s": round(seconds, 2),
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds, 1),
        "ok_per_s": round(ok / seconds, 1),
        "non_2xx": raw["non_2xx_3xx"],
        "socket_errors": raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"],
        "latency_ms": {
            name: round(raw[f"{name}_us"] / 1000, 2) for name in ("p50", "p90", "p95", "p99", "max", "mean")
        },
    }


if __name__ == "__main__":
    raise SystemExit(main())
