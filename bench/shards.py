#!/usr/bin/env python
"""Sharded scoring (``SCORING_SHARDS``) against one process, on this machine: the overhead of the
Celery group.

On a throwaway PostgreSQL database: load ``--dataset`` (``manage.py load_movielens``), train one
version (``manage.py retrain``, ``--epochs`` epochs: the model's quality does not matter here), start a
real Celery worker (queue ``default``, ``--concurrency`` processes) on ``--redis-url``, then score and
write the version's rows ``--repeat`` times each way, into a fresh running version each time:

* ``one_process``: ``score_and_write`` over every viewer here (what a retrain does with
  ``SCORING_SHARDS=1``; its scoring uses every core);
* ``shards_N``: ``score_and_write_sharded`` with N user ranges, one Celery task each, on the worker
  (each task loads the saved model, scores its range with one thread per process and writes its rows).

Prints one JSON object with the seconds of each run and the best of each way.

    .venv/bin/python bench/shards.py --dataset /tmp/syn-1m --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from common import (
    PYTHON,
    ROOT,
    database_drop,
    database_recreate,
    database_url_for,
    manage,
    process_stop,
    server_env,
)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="MovieLens-shaped folder (u.data or ratings.csv).")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--db-name", default="bench_shards")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="Broker of the run (a spare DB).")
    parser.add_argument("--shards", type=int, nargs="+", default=[2, 4], help="Shard counts to try.")
    parser.add_argument("--concurrency", type=int, default=2, help="Processes of the Celery worker.")
    parser.add_argument("--epochs", type=int, default=1, help="Epochs of the version that is scored.")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each way (the best is reported).")
    parser.add_argument("--keep-db", action="store_true", help="Leave the database for inspection.")
    parser.add_argument("--json", action="store_true", help="Print compact JSON.")
    args = parser.parse_args(argv)
    if not Path(args.dataset).is_dir():
        parser.error(f"--dataset: {args.dataset} is not a folder")
    if min(args.shards) < 2 or args.concurrency < 1 or args.epochs < 1 or args.repeat < 1:
        parser.error("--shards >= 2, --concurrency, --epochs and --repeat >= 1 please")

    workdir = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    env = server_env(database_url_for(args.admin_url, args.db_name), workdir, redis_url=args.redis_url)
    database_recreate(args.admin_url, args.db_name)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # no task of an earlier run may reach the worker
    worker = None
    try:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "load_movielens", str(Path(args.dataset).resolve()), timeout=3600)
        manage(env, "retrain", "--no-progress", "--epochs", str(args.epochs), timeout=3600)
        command = ["celery", "-A", "recsite", "worker", "--queues", "default", "--concurrency", str(args.concurrency)]
        worker = subprocess.Popen(
            [PYTHON, "-m", *command, "--loglevel", "WARNING", "--hostname", "bench-shards@%h"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.environ.update(env)
        os.chdir(ROOT)
        import django

        django.setup()
        report = _measure(args, worker)
    finally:
        process_stop(worker)
        if not args.keep_db:
            database_drop(args.admin_url, args.db_name)
    print(json.dumps(report, indent=None if args.json else 2))
    return report


def _measure(args: argparse.Namespace, worker: subprocess.Popen) -> dict:
    from celery import current_app

    from recommender.models import ModelVersion, Recommendation
    from recommender.selectors import active_version
    from recommender.services import sharding
    from recommender.services.artifacts import artifact_load

    deadline = time.monotonic() + 120
    while not (current_app.control.inspect(timeout=1.0).ping() or {}):
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the Celery worker did not start")
    active = active_version()
    if active is None:
        raise SystemExit("the retrain published no version")
    artifact = artifact_load(version=active)
    data = artifact.data

    def fresh_version() -> ModelVersion:
        return ModelVersion.objects.create(
            status=ModelVersion.Status.RUNNING,
            objective=active.objective,
            architecture=active.architecture,
            hyperparameters=active.hyperparameters,
            last_event_id=active.last_event_id,
            artifact_path=active.artifact_path,
            artifact_sha256=active.artifact_sha256,
        )

    def timed(run) -> dict:
        version = fresh_version()
        started = time.perf_counter()
        rows, score_s = run(version)
        seconds = time.perf_counter() - started
        Recommendation.objects.filter(version=version).delete()
        version.delete()
        return {"seconds": round(seconds, 2), "scoring_seconds": round(score_s, 2), "rows": rows}

    ways: dict[str, list[dict]] = {"one_process": []}
    for _ in range(args.repeat):
        ways["one_process"].append(timed(lambda v: sharding.score_and_write(v, artifact.model, data, 0, data.n_users)))
        for n in args.shards:
            shards = sharding.user_shards(data.n_users, n)
            ways.setdefault(f"shards_{n}", []).append(timed(lambda v, s=shards: sharding.score_and_write_sharded(v, s)))
    best = {name: min(r["seconds"] for r in runs) for name, runs in ways.items()}
    return {
        "dataset": str(args.dataset),
        "viewers": data.n_users,
        "videos": data.n_videos,
        "pairs": int(data.n_users * data.n_videos - data.n_interactions),
        "worker_concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "runs": ways,
        "best_seconds": best,
        "overhead_vs_one_process": {
            name: round(seconds / best["one_process"] - 1, 3) for name, seconds in best.items() if name != "one_process"
        },
    }


if __name__ == "__main__":
    main()
