#!/usr/bin/env python
"""Load-and-fault benchmark: an open-loop request mix against the whole stack, idle or during a retrain.

The stack, all on this machine: gunicorn serving the site (DEBUG off, as a TLS proxy would reach it:
every request carries ``X-Forwarded-Proto: https``) on 127.0.0.1, a throwaway PostgreSQL database
(default ``loadmix``, dropped at the end), a Celery worker (``default`` and ``training`` queues,
concurrency 1) and Celery beat, with a spare Redis database (default ``redis://127.0.0.1:6379/6``,
emptied at the start and at the end) as broker and cache.

1. Setup (not measured): migrate, collectstatic, load MovieLens 100K (``load_movielens``: 943 viewers,
   1,682 videos, 100,000 watch events), train a small model so that every viewer has recommendations,
   give every such viewer an API token, and log 200 of them in (session cookies).
2. With ``--during-retrain``: queue a full retrain with the product's defaults (the Celery task
   ``recommender.tasks.retrain_task`` with ``force``, as beat queues it) and wait until it trains;
   whenever no retrain holds the retrain lock during the run, queue the next one, so one runs for
   the whole window. The worker runs at
   the idle CPU priority (``chrt --idle 0``, as docker-compose.yml starts the trainer) with TensorFlow
   and OpenMP limited to one thread each (TF_NUM_INTEROP_THREADS,
   TF_NUM_INTRAOP_THREADS, OMP_NUM_THREADS = 1). Without it the worker and beat run idle.
   Retrains after N new events (``RETRAIN_AFTER_NEW_EVENTS``) are off in both modes: the only
   retrains are the ones this script starts.
3. A warm-up (not counted), then the window: ``--rate`` requests per second at a constant arrival
   rate for ``--duration`` seconds, each drawn at random (seeded) from the mix

   * 80 % ``GET /api/recommendations/?limit=20``, token of a random viewer;
   * 15 % ``POST /api/events/``, token of a random viewer, random video and completion, a unique
     ``client_event_id`` per request;
   * 5 % pages as a logged-in viewer (session cookie): the home page, a random video's page or
     ``/recommended/``, a third each.

4. After the window (every request finished or timed out): for the events, the rows stored per
   ``client_event_id`` against the ids answered 2xx -- *lost* (answered 2xx, not stored) and
   *duplicated* (stored more than once); the status counts (5xx), the achieved rate, and latency
   percentiles per class and overall. One JSON object goes to stdout (or ``--out``).

The load is open-loop: request *i* is sent at ``start + i / rate`` whether or not earlier ones have
finished, and its latency runs from that scheduled time to the end of the response, so time spent
queueing anywhere (in the client's connection pool, the listen backlog, gunicorn) is counted rather
than hidden by coordinated omission. ``generator.dispatch_lag_ms`` says how late the generator itself
sent requests; large values mean the generator was starved of CPU, and the run is suspect.

The generator is this script's own (asyncio + aiohttp, a dev-only dependency). Of the maintained
tools in the reachable registries none fits: wrk and hey (Debian) are closed-loop, wrk2 and vegeta
(open-loop) are not packaged, k6 is not published on PyPI or npm, Locust's users are closed loops
(a slow answer delays that user's next request), autocannon keeps a fixed number of connections busy,
and Artillery or loadtest could pace arrivals but report neither per-request outcomes (which
``client_event_id`` got a 2xx) nor latency from the scheduled time.

Only 127.0.0.1 is ever sent requests; the count (rate x duration) and each request's time are bounded,
and every process the script starts is stopped at the end, also on Ctrl-C.

The generator's dependency is a development requirement (requirements-dev.txt): `make install-dev`.

Then, on a quiet machine:

    .venv/bin/python bench/load_mix.py --out load-idle.json
    .venv/bin/python bench/load_mix.py --during-retrain --out load-retrain.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from common import (
    BIN,
    ROOT,
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
    tree_cpu_seconds,
    wait_ready,
)

from recommender.locks import RETRAIN_LOCK_KEY

MIX = (("recommendations", 0.80), ("events", 0.15), ("pages", 0.05))
PAGE_SESSIONS = 200
# p95 targets on two cores, per mode (milliseconds).
TARGET_P95_MS = {"idle": 100.0, "during_retrain": 300.0}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ID_PREFIX = "loadmix"
# Stages of a running retrain before TensorFlow trains (reading events, building the matrix).
EARLY_STAGES = ("queued", "reading", "pivoting")
TRAINING_THREADS_ENV = {"TF_NUM_INTEROP_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "OMP_NUM_THREADS": "1"}


@dataclass(frozen=True, slots=True)
class Planned:
    """One request of the schedule."""

    kind: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None = None
    client_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """The outcome of one request; times on the event loop's clock (``time.monotonic``)."""

    kind: str
    due: float
    sent: float
    done: float
    status: int | None
    error: str | None
    client_event_id: str | None


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise SystemExit("the load generator needs aiohttp: make install-dev") from None
    import psycopg

    mode = "during_retrain" if args.during_retrain else "idle"
    log = _log(args)
    database_url = database_url_for(args.admin_url, args.db_name)
    workdir = Path(tempfile.mkdtemp(prefix="bench-loadmix-"))
    env = server_env(database_url, workdir, redis_url=args.redis_url)
    env["RETRAIN_AFTER_NEW_EVENTS"] = "0"
    processes: dict[str, subprocess.Popen | None] = {"server": None, "worker": None, "beat": None}
    keeper: RetrainKeeper | None = None
    signal.signal(signal.SIGTERM, _exit_on_signal)  # so that the cleanup below also runs on SIGTERM
    _redis_flush(args.redis_url)
    try:
        fixture = _prepare(args, env, database_url, log)
        with psycopg.connect(database_url, connect_timeout=10) as conn:
            events_before = conn.execute("SELECT count(*) FROM videos_watchevent").fetchone()[0]
            last_version = conn.execute("SELECT coalesce(max(id), 0) FROM recommender_modelversion").fetchone()[0]

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log(f"gunicorn on {url} ({args.workers} workers x {args.threads} threads), worker, beat ...")
        processes["server"] = gunicorn_start(env, port, workers=args.workers, threads=args.threads)
        processes["worker"] = _worker_start(env, workdir)
        processes["beat"] = _beat_start(env, workdir)
        wait_ready(url, fixture["tokens"][0])
        _wait_worker_ready(workdir / "worker.log", processes["worker"])

        if args.during_retrain:
            overrides = {"epochs": args.retrain_epochs} if args.retrain_epochs else {}
            keeper = RetrainKeeper(args.redis_url, database_url, args.db_name, config=overrides)
            keeper.start()
            log("waiting for the retrain to train ...")
            if not keeper.wait_training(timeout=240):
                raise SystemExit("no retrain reached the training stage within 4 minutes:\n" + keeper.describe())

        rng = random.Random(args.seed)
        run_id = secrets.token_hex(4)
        if args.warmup:
            log(f"warm-up {args.warmup} s at {args.rate}/s ...")
            warm = _plan(rng, fixture, args, count=round(args.rate * args.warmup), prefix=f"{run_id}w")
            asyncio.run(drive(url, warm, args.rate, timeout=args.timeout, connections=args.connections))

        log(f"window: {args.duration} s at {args.rate}/s ({mode}) ...")
        plan = _plan(rng, fixture, args, count=round(args.rate * args.duration), prefix=run_id)
        load_before = os.getloadavg()
        cpu_before = _cpu(processes, args.db_name)
        window_start = time.monotonic()
        samples = asyncio.run(drive(url, plan, args.rate, timeout=args.timeout, connections=args.connections))
        window_end = time.monotonic()
        first_due = min(s.due for s in samples)
        cpu_after = _cpu(processes, args.db_name)
        load_after = os.getloadavg()
        if keeper is not None:
            keeper.stop()

        log("counting stored events ...")
        events = _events_check(database_url, plan, samples, prefix=f"{ID_PREFIX}-{run_id}-")
        result = {
            "benchmark": "load_mix",
            "mode": mode,
            "schedule": {
                "rate_per_s": args.rate,
                "duration_s": args.duration,
                "requests": len(plan),
                "mix": dict(MIX),
                "warmup_s": args.warmup,
                "request_timeout_s": args.timeout,
                "seed": args.seed,
            },
            "server": {
                "gunicorn_workers": args.workers,
                "threads_per_worker": args.threads,
                "database": "postgresql",
                "broker_and_cache": "redis",
                "worker": "celery, queues default+training, concurrency 1, SCHED_IDLE, TensorFlow/OpenMP 1 thread",
                "beat": "celery beat, DatabaseScheduler",
            },
            "data": {
                "viewers_with_tokens": len(fixture["tokens"]),
                "page_sessions": len(fixture["sessions"]),
                "videos": len(fixture["videos"]),
                "events_before": events_before,
            },
            "cpu_count": os.cpu_count(),
            "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in load_after]},
            "overall": _summary(samples, first_due),
            "by_class": {kind: _summary([s for s in samples if s.kind == kind], first_due) for kind, _share in MIX},
            "events": events,
            "generator": {
                "tool": f"asyncio + aiohttp {_aiohttp_version()} (open loop, latency from the scheduled time)",
                "connections": args.connections,
                "dispatch_lag_ms": _percentiles([(s.sent - s.due) * 1000 for s in samples]),
            },
            "cpu_s": {part: round(cpu_after[part] - cpu_before[part], 2) for part in cpu_after},
            "retrain": _retrain_report(database_url, last_version, keeper, (window_start, window_end)),
            "processes_alive": {name: p is not None and p.poll() is None for name, p in processes.items()},
        }
        result["targets"] = _targets(result, mode)
        text = json.dumps(result) if args.json else json.dumps(result, indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n")
            log(f"wrote {args.out}")
        else:
            print(text)
        return 0
    finally:
        if keeper is not None:
            keeper.stop()
        # Cold shutdown for the worker: a warm one would wait for the retrain to finish.
        process_stop(processes["worker"], sig=signal.SIGQUIT, grace=10)
        process_stop(processes["beat"], grace=10)
        process_stop(processes["server"])
        if not (args.keep_db or args.reuse_db):
            database_drop(args.admin_url, args.db_name)
        _redis_flush(args.redis_url)
        _rmtree(workdir)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--admin-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL URL allowed to CREATE/DROP DATABASE, on this machine (default: %(default)s).",
    )
    parser.add_argument("--db-name", default="loadmix", help="Throwaway database to create and drop.")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/6",
        help="A spare Redis database on this machine for broker and cache; it is EMPTIED at the start and at "
        "the end, so never give one that holds anything (database 0 is refused). Default: %(default)s.",
    )
    parser.add_argument(
        "--dataset",
        default=str(ROOT.parent / "shared" / "datasets" / "ml-100k"),
        help="MovieLens 100K folder (default: %(default)s).",
    )
    parser.add_argument("--during-retrain", action="store_true", help="Keep a retrain running for the whole window.")
    parser.add_argument("--rate", type=float, default=150.0, help="Requests per second (default: %(default)s).")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds of the window (default: %(default)s).")
    parser.add_argument("--warmup", type=float, default=5.0, help="Seconds of warm-up before (default: %(default)s).")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default: %(default)s, as deployed).")
    parser.add_argument("--threads", type=int, default=1, help="Threads per gunicorn worker (default: %(default)s).")
    parser.add_argument(
        "--connections", type=int, default=100, help="Most connections the generator opens (default: %(default)s)."
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="Seconds a request may take (default: 10).")
    parser.add_argument("--limit", type=int, default=20, help="Recommendations per GET (default: %(default)s).")
    parser.add_argument(
        "--setup-epochs", type=int, default=2, help="Epochs of the model trained during setup (default: 2)."
    )
    parser.add_argument(
        "--retrain-epochs",
        type=int,
        help="Most epochs of the retrains run during the window (default: the product's), e.g. 1 for short "
        "retrains that end and are queued again within a short check run.",
    )
    parser.add_argument("--seed", type=int, default=1, help="Seed of the request mix (default: %(default)s).")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="Use the database as left by an earlier --keep-db run when it has an active version, and keep it.",
    )
    parser.add_argument("--keep-db", action="store_true", help="Do not drop the database at the end.")
    parser.add_argument("--out", help="Write the JSON here instead of stdout.")
    parser.add_argument("--json", action="store_true", help="Compact JSON, no progress messages.")
    args = parser.parse_args(argv)

    if not 0 < args.rate <= 1000 or not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        parser.error("--rate must be in (0, 1000], --duration in (0, 600] and --warmup in [0, 60]")
    if not 0 < args.timeout <= 60 or not 1 <= args.connections <= 1000 or not 1 <= args.workers <= 32:
        parser.error("--timeout must be in (0, 60], --connections in 1..1000 and --workers in 1..32")
    for name in ("admin_url", "redis_url"):
        host = urlsplit(getattr(args, name)).hostname
        if host not in LOOPBACK:
            parser.error(f"--{name.replace('_', '-')} must point at this machine (127.0.0.1), not {host!r}")
    if urlsplit(args.redis_url).path.strip("/") in ("", "0"):
        parser.error("--redis-url must name a spare database other than 0 (it is emptied), e.g. .../6")
    return args


def _log(args: argparse.Namespace):
    def log(message: str) -> None:
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    return log


def _exit_on_signal(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def _prepare(args: argparse.Namespace, env: dict[str, str], database_url: str, log) -> dict:
    """Create and fill the database (unless ``--reuse-db`` finds it ready); return the site fixture."""
    if not (args.reuse_db and _has_active_version(database_url)):
        dataset = Path(args.dataset)
        if not (dataset / "u.data").exists():
            raise SystemExit(f"{dataset} is not a MovieLens 100K folder (no u.data): see --dataset")
        database_recreate(args.admin_url, args.db_name)
        log("migrate + load_movielens + retrain (setup) ...")
        manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
        manage(env, "load_movielens", str(dataset), timeout=900)
        manage(env, "retrain", "--no-progress", "--epochs", str(args.setup_epochs), "--embedding-dim", "16")
    else:
        log(f"reusing database {args.db_name} ...")
        manage(env, "migrate", "--noinput", "-v", "0", timeout=600)
    manage(env, "collectstatic", "--noinput", "-v", "0", timeout=300)
    return site_fixture(env, sessions=PAGE_SESSIONS)


def _has_active_version(database_url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(database_url, connect_timeout=10) as conn:
            row = conn.execute("SELECT count(*) FROM recommender_modelversion WHERE status = 'active'").fetchone()
    except psycopg.Error:
        return False
    return bool(row[0])


def _redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5).flushdb()


def _worker_start(env: dict[str, str], workdir: Path) -> subprocess.Popen:
    """The Celery worker as deployed (default + training queues, concurrency 1), at the idle CPU
    priority (``chrt --idle 0``, as the compose file's trainer) with TensorFlow and OpenMP limited to
    one thread each, logging to ``worker.log``."""
    with open(workdir / "worker.log", "wb") as out:
        return subprocess.Popen(
            [
                "chrt",
                "--idle",
                "0",
                str(BIN / "celery"),
                "-A",
                "recsite",
                "worker",
                "--queues",
                "default,training",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--hostname",
                "loadmix-worker@%h",
            ],
            cwd=ROOT,
            env={**env, **TRAINING_THREADS_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _beat_start(env: dict[str, str], workdir: Path) -> subprocess.Popen:
    with open(workdir / "beat.log", "wb") as out:
        return subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "recsite",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile",
                str(workdir / "beat.pid"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _wait_worker_ready(log_path: Path, worker: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while b" ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise SystemExit(f"the Celery worker did not become ready:\n{tail}")
        time.sleep(0.5)


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- The schedule and the open-loop generator -------------------------------------------------------


def _plan(rng: random.Random, fixture: dict, args: argparse.Namespace, *, count: int, prefix: str) -> list[Planned]:
    """``count`` requests drawn from :data:`MIX`; event ids ``loadmix-<prefix>-<i>``."""
    kinds = [kind for kind, _share in MIX]
    weights = [share for _kind, share in MIX]
    tokens, videos, sessions = fixture["tokens"], fixture["videos"], fixture["sessions"]
    proxy = {"X-Forwarded-Proto": "https"}
    plan = []
    for i, kind in enumerate(rng.choices(kinds, weights=weights, k=count)):
        auth = {**proxy, "Authorization": f"Token {rng.choice(tokens)}"}
        if kind == "recommendations":
            plan.append(Planned(kind, "GET", f"/api/recommendations/?limit={args.limit}", auth))
        elif kind == "events":
            event_id = f"{ID_PREFIX}-{prefix}-{i}"
            body = {"video": rng.choice(videos), "completion": round(rng.random(), 2), "client_event_id": event_id}
            headers = {**auth, "Content-Type": "application/json"}
            plan.append(Planned(kind, "POST", "/api/events/", headers, json.dumps(body).encode(), event_id))
        else:
            path = rng.choice(["/", f"/videos/{rng.choice(videos)}/", "/recommended/"])
            cookie = {**proxy, "Cookie": f"{fixture['session_cookie']}={rng.choice(sessions)}"}
            plan.append(Planned(kind, "GET", path, cookie))
    return plan


async def drive(base_url: str, plan: list[Planned], rate: float, *, timeout: float, connections: int) -> list[Sample]:
    """Send ``plan[i]`` at ``start + i / rate`` regardless of earlier answers; return every outcome.

    At most ``connections`` requests are on the wire at once; the others wait in the client's
    pool, and that wait counts in their latency (measured from the scheduled time).
    """
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    # No cookie jar: each request carries exactly the cookie it was planned with.
    async with aiohttp.ClientSession(
        base_url, connector=connector, timeout=client_timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        tasks = []
        for i, planned in enumerate(plan):
            due = start + i / rate
            delay = due - loop.time()
            # Behind schedule: send at once, but still let the requests in flight make progress.
            await asyncio.sleep(max(delay, 0.0))
            tasks.append(asyncio.create_task(_send(session, planned, due)))
        return list(await asyncio.gather(*tasks))


async def _send(session, planned: Planned, due: float) -> Sample:
    import aiohttp

    loop = asyncio.get_running_loop()
    sent = loop.time()
    status = error = None
    try:
        async with session.request(
            planned.method, planned.path, headers=planned.headers, data=planned.body, allow_redirects=False
        ) as response:
            await response.read()
            status = response.status
    except TimeoutError:
        error = "timeout"
    except aiohttp.ClientError as exc:
        error = type(exc).__name__
    return Sample(planned.kind, due, sent, loop.time(), status, error, planned.client_event_id)


def _aiohttp_version() -> str:
    import aiohttp

    return aiohttp.__version__


# --- Figures --------------------------------------------------------------------------------------


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = (float(x) for x in np.percentile(values, [50, 95, 99]))
    return {"p50": round(p50, 2), "p95": round(p95, 2), "p99": round(p99, 2), "max": round(max(values), 2)}


def _summary(samples: list[Sample], first_due: float) -> dict:
    """Counts, achieved rate (answers per second from the first scheduled send to the last answer)
    and latency (scheduled send -> whole response) of ``samples``."""
    statuses = Counter(str(s.status) if s.status is not None else s.error for s in samples)
    answered = [s for s in samples if s.status is not None]
    elapsed = max((s.done for s in samples), default=first_due) - first_due
    return {
        "requests": len(samples),
        "answered_per_s": round(len(answered) / elapsed, 1) if elapsed > 0 else None,
        "ok_2xx": sum(1 for s in answered if 200 <= s.status < 300),
        "status_5xx": sum(1 for s in answered if s.status >= 500),
        "other_non_2xx": sum(1 for s in answered if not 200 <= s.status < 300 and s.status < 500),
        "errors": len(samples) - len(answered),
        "statuses": dict(sorted(statuses.items())),
        "latency_ms": _percentiles([(s.done - s.due) * 1000 for s in samples]),
    }


def _events_check(database_url: str, plan: list[Planned], samples: list[Sample], *, prefix: str) -> dict:
    """Rows stored per ``client_event_id`` of this window against the ids answered 2xx."""
    import psycopg

    sent = {p.client_event_id for p in plan if p.client_event_id}
    answered = {s.client_event_id for s in samples if s.client_event_id and s.status and 200 <= s.status < 300}
    created = sum(1 for s in samples if s.client_event_id and s.status == 201)
    pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT client_event_id, count(*) FROM videos_watchevent WHERE client_event_id LIKE %s "
            "GROUP BY client_event_id",
            [pattern],
        ).fetchall()
    stored = dict(rows)
    lost = sorted(answered - stored.keys())
    duplicated = {key: n for key, n in stored.items() if n > 1}
    return {
        "sent": len(sent),
        "answered_2xx": len(answered),
        "answered_201": created,
        "stored_ids": len(stored),
        "stored_rows": sum(stored.values()),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "duplicated_ids": len(duplicated),
        "duplicate_rows": sum(n - 1 for n in duplicated.values()),
        "stored_without_2xx": len(stored.keys() - answered),
        "stored_not_sent": len(stored.keys() - sent),
    }


def _cpu(processes: dict[str, subprocess.Popen | None], db_name: str) -> dict[str, float]:
    """CPU seconds so far of gunicorn, the PostgreSQL backends of ``db_name``, the worker (with its
    pool), beat, and this process (the generator, plus the retrain keeper's thread)."""
    parts = cpu_seconds(processes["server"].pid, db_name)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "gunicorn": parts["server"],
        "postgresql": parts["database"],
        "worker": tree_cpu_seconds(processes["worker"].pid),
        "beat": tree_cpu_seconds(processes["beat"].pid),
        "generator": own.ru_utime + own.ru_stime,
    }


def _targets(result: dict, mode: str) -> dict:
    p95 = result["overall"]["latency_ms"]["p95"]
    events = result["events"]
    return {
        "p95_ms": {
            "target": TARGET_P95_MS[mode],
            "measured": p95,
            "met": p95 is not None and p95 <= TARGET_P95_MS[mode],
        },
        "zero_5xx": result["overall"]["status_5xx"] == 0,
        "zero_lost_or_duplicated_events": events["lost"] == 0 and events["duplicate_rows"] == 0,
    }


def _retrain_report(
    database_url: str, last_version: int, keeper: RetrainKeeper | None, window: tuple[float, float]
) -> dict:
    """The model versions created by this run (status and stage at the end of the window) and,
    with a keeper, the share of the window during which a retrain held the lock."""
    import psycopg

    with psycopg.connect(database_url, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT id, status, stage, triggered_by, EXTRACT(EPOCH FROM finished_at - created_at) "
            "FROM recommender_modelversion WHERE id > %s ORDER BY id",
            [last_version],
        ).fetchall()
    report: dict = {
        "versions": [
            {"id": i, "status": s, "stage": st, "triggered_by": t, "seconds": None if d is None else round(float(d), 1)}
            for i, s, st, t, d in rows
        ]
    }
    if keeper is not None:
        report.update(keeper.coverage(*window))
    return report


# --- Keeping a retrain running --------------------------------------------------------------------


class RetrainKeeper:
    """Keeps one retrain running: whenever no process holds the retrain lock, queue the next one
    for the worker -- the Celery task beat queues (``recommender.tasks.retrain_task``) with
    ``force``, so that it trains even when nothing new was watched.

    The lock is read from ``pg_locks`` (never taken), so polling cannot get in a retrain's way. A
    queued retrain that has not taken the lock within ``PENDING_S`` is queued again (its message
    expires after that long, so the queue never grows).
    """

    POLL_S = 0.25
    PENDING_S = 30.0
    TASK = "recommender.tasks.retrain_task"

    def __init__(self, broker_url: str, database_url: str, db_name: str, *, config: dict | None = None) -> None:
        from celery import Celery

        # A bare client of the broker: queues the task by name, without Django or the task's code.
        self.celery = Celery("load-mix", broker=broker_url, set_as_current=False)
        self.celery.conf.update(task_serializer="json", broker_connection_timeout=5)
        self.database_url = database_url
        self.db_name = db_name
        self.config = config or {}
        self.timeline: list[tuple[float, bool]] = []  # (time.monotonic(), lock held)
        self.triggers: list[dict] = []
        self.error: str | None = None  # why the keeper stopped early, if it did
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="retrain-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=90)

    def wait_training(self, *, timeout: float) -> bool:
        """True once a running version is past reading and pivoting (TensorFlow is working)."""
        import psycopg

        deadline = time.monotonic() + timeout
        with psycopg.connect(self.database_url, connect_timeout=10, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT stage FROM recommender_modelversion WHERE status = 'running' ORDER BY id DESC LIMIT 1"
                ).fetchone()
                if row is not None and row[0] not in EARLY_STAGES:
                    return True
                time.sleep(0.5)
        return False

    def describe(self) -> str:
        return json.dumps(self.triggers[-3:], indent=2)

    def coverage(self, start: float, end: float) -> dict:
        """Share of ``start``..``end`` with the lock held, and the longest stretch without."""
        inside = [(t, held) for t, held in self.timeline if start <= t <= end]
        longest = gap = 0.0
        previous = start
        for t, held in inside:
            gap = 0.0 if held else gap + (t - previous)
            longest = max(longest, gap)
            previous = t
        return {
            "keeper_error": self.error,
            "retrain_running_share": round(sum(held for _t, held in inside) / len(inside), 3) if inside else None,
            "longest_gap_s": round(longest, 2),
            "retrains_queued": len([t for t in self.triggers if start <= t["at"] <= end]),
            "queue_failures": [t for t in self.triggers if not t["ok"]][:5],
        }

    def _run(self) -> None:
        try:
            self._keep()
        except Exception as exc:  # the database went away: the report says so instead of a silent gap
            self.error = f"{type(exc).__name__}: {exc}"

    def _keep(self) -> None:
        import psycopg

        classid, objid = RETRAIN_LOCK_KEY >> 32, RETRAIN_LOCK_KEY & 0xFFFFFFFF
        query = (
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1"
        )
        pending_since: float | None = None
        with psycopg.connect(self.database_url, connect_timeout=10, autocommit=True) as conn:
            while not self._stop.is_set():
                held = conn.execute(query, [self.db_name, classid, objid]).fetchone()[0] > 0
                now = time.monotonic()
                self.timeline.append((now, held))
                if held:
                    pending_since = None
                elif pending_since is None or now - pending_since > self.PENDING_S:
                    # Nothing running, and nothing queued just before: queue the next retrain.
                    pending_since = now
                    self._queue(now)
                self._stop.wait(self.POLL_S)

    def _queue(self, now: float) -> None:
        try:
            result = self.celery.send_task(
                self.TASK,
                kwargs={"force": True, "triggered_by": "benchmark", "config": self.config},
                queue="training",
                expires=self.PENDING_S,
                retry=False,
            )
            ok, message = True, f"task {result.id}"
        except Exception as exc:  # the broker's errors, whatever the transport: recorded in the report
            ok, message = False, f"{type(exc).__name__}: {exc}"
        self.triggers.append({"at": now, "ok": ok, "message": message})


if __name__ == "__main__":
    raise SystemExit(main())
