"""Helpers shared by the benchmark scripts (no Django): fast MovieLens readers, process
figures, and a site served on loopback for the load benchmarks (a throwaway PostgreSQL database,
gunicorn, API tokens).  MovieLens is read from where the user keeps it, never copied."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from recommender.ml.data import InteractionMatrix, pivot  # noqa: E402
from recommender.ml.holdout import pair_last_seen  # noqa: E402


@dataclass(frozen=True)
class Ratings:
    """One ratings file as parallel arrays; ``completion`` = rating / max rating."""

    user: np.ndarray
    item: np.ndarray
    completion: np.ndarray
    time: np.ndarray

    def matrix(self) -> InteractionMatrix:
        return pivot(self.user, self.item, self.completion)

    def last_seen(self, data: InteractionMatrix) -> np.ndarray:
        return pair_last_seen(data, self.user, self.item, self.time)


def read_ratings(folder: str | Path, name: str | None = None) -> Ratings:
    """``u.data`` / ``u1.base`` ... of MovieLens 100K (tab-separated) or ``ratings.csv``
    of ml-latest-small, as :class:`Ratings`."""
    folder = Path(folder)
    if name is None:
        name = "u.data" if (folder / "u.data").exists() else "ratings.csv"
    path = folder / name
    if not path.exists():
        raise SystemExit(f"{path} not found: --dataset must be a MovieLens 100K or ml-latest-small folder")
    if path.suffix == ".csv":
        raw = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    else:
        raw = np.loadtxt(path, dtype=np.float64)
    return Ratings(
        user=raw[:, 0].astype(np.int64),
        item=raw[:, 1].astype(np.int64),
        completion=(raw[:, 2] / 5.0).astype(np.float64),
        time=raw[:, 3],
    )


def fold_pair(folder: str | Path, fold: int) -> tuple[Ratings, Ratings]:
    """``u<fold>.base`` and ``u<fold>.test`` of MovieLens 100K."""
    return read_ratings(folder, f"u{fold}.base"), read_ratings(folder, f"u{fold}.test")


def cpu_reference_seconds(rounds: int = 3) -> float:
    """Seconds for a fixed pure-Python loop (20 million additions), best of ``rounds``: how fast this
    machine's cores are right now. A shared virtual machine's speed drifts between runs (1.4 s to
    2.1 s has been seen on the same VM within an hour), so load figures are only comparable at
    similar reference times."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for i in range(20_000_000):
            total += i
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bias_fallback(data: InteractionMatrix, test: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """The bias baseline's prediction for every test rating, and which test ratings a model
    can score (user and movie both in ``data``).  A model cannot score a movie or user it
    never saw (the published folds have a few dozen such ratings); those keep the baseline's
    prediction, for every model alike, so all are scored on every test rating."""
    from recommender.ml.holdout import BiasBaseline

    bias = BiasBaseline.fit(data)
    u_known = np.isin(test.user, data.user_ids)
    v_known = np.isin(test.item, data.video_ids)
    pred = np.full(len(test.user), bias.mean)
    pred[u_known] += bias.user_bias[data.user_indices(test.user[u_known])]
    pred[v_known] += bias.video_bias[data.video_indices(test.item[v_known])]
    return np.clip(pred, 0.0, 1.0), u_known & v_known


def predict_test(data: InteractionMatrix, test: Ratings, score_fn) -> np.ndarray:
    """``score_fn(user_idx, video_idx)`` for the scorable test ratings, the bias baseline for the rest."""
    pred, known = bias_fallback(data, test)
    pred[known] = score_fn(data.user_indices(test.user[known]), data.video_indices(test.item[known]))
    return pred


def fold_rmse(folder: str | Path, fold: int, config, *, refit: bool = True) -> dict:
    """Train ``config`` on ``u<fold>.base`` and measure RMSE / MAE in stars on ``u<fold>.test``.

    Early stopping uses train_model's validation share of the *base* file; with ``refit``
    the model is then trained again on the whole base file for the best epoch count (as the
    product does after its evaluation).  See :func:`bias_fallback` for unseen users / movies.
    """
    from recommender.ml.metrics import mae, rmse
    from recommender.ml.score import score_pairs
    from recommender.ml.train import train_model

    base, test = fold_pair(folder, fold)
    data = base.matrix()
    pred_bias, known = bias_fallback(data, test)
    started = time.perf_counter()
    result = train_model(data, config)
    epochs = result.epochs_run
    if refit:
        result = train_model(data, config.replace(epochs=max(1, result.best_epoch), validation_fraction=0.0))
    seconds = time.perf_counter() - started
    model = result.model
    pred = predict_test(data, test, lambda u, v: score_pairs(model, u, v))
    return {
        "fold": fold,
        "rmse_stars": round(rmse(pred, test.completion) * 5, 4),
        "mae_stars": round(mae(pred, test.completion) * 5, 4),
        "bias_rmse_stars": round(rmse(pred_bias, test.completion) * 5, 4),
        "bias_mae_stars": round(mae(pred_bias, test.completion) * 5, 4),
        "test_ratings": len(test.user),
        "cold_ratings": int((~known).sum()),
        "epochs": epochs,
        "refit_epochs": result.epochs_run if refit else None,
        "seconds": round(seconds, 2),
    }


def leave_one_out(
    folder: str | Path, config, *, negatives: int = 99, ties: str = "recorded", baselines: bool = False
) -> dict:
    """The NCF paper's protocol on the full ratings file: every user's latest rating is held
    out and ranked against ``negatives`` sampled movies the user never rated; the model is
    trained on everything else (early stopping on a validation share of that).

    ``ties``: which of several ratings with the user's latest timestamp is held out --
    ``"recorded"`` the one recorded last (file order, as the product does with event ids),
    ``"movie_id"`` the one with the highest movie id (newer, rarer movies: a harder task).
    ``baselines``: also most-popular, EASE and implicit ALS on the same split and negatives
    (``bench/baselines.py``), under ``"baselines"``.  On large data the retrain's large-data
    schedule applies, as in the product (``recommender.ml.schedule.schedule_for``)."""
    from recommender.ml.offline import offline_evaluate
    from recommender.ml.schedule import LARGE_DATA_MIN_SAMPLES, schedule_for

    data, seen = loo_last_seen(folder, ties)
    config = schedule_for(config, data.n_interactions, min_samples=LARGE_DATA_MIN_SAMPLES).config
    started = time.perf_counter()
    evaluation = offline_evaluate(data, seen, config, holdout_fraction=0.0, negatives=negatives)
    m = evaluation.metrics
    out = {
        "hr_at_10": round(m["hr_at_10"], 4),
        "ndcg_at_10": round(m["ndcg_at_10"], 4),
        "popular_hr_at_10": round(m["baseline_popular_hr_at_10"], 4),
        "popular_ndcg_at_10": round(m["baseline_popular_ndcg_at_10"], 4),
        "users": m["n_ranked"],
        "negatives": m["negatives"],
        "ties": ties,
        "epochs": m["epochs_run"],
        "seconds": round(time.perf_counter() - started, 2),
    }
    if baselines:
        from baselines import baseline_metrics

        out["baselines"] = baseline_metrics(data, evaluation.split, seed=config.seed, negatives=negatives)
    return out


def loo_last_seen(folder: str | Path, ties: str = "recorded") -> tuple[InteractionMatrix, np.ndarray]:
    """The full ratings matrix and the order key that picks each user's held-out pair under the
    tie rule ``ties`` (see :func:`leave_one_out`)."""
    ratings = read_ratings(folder)
    data = ratings.matrix()
    if ties == "recorded":
        seen = ratings.last_seen(data)
    elif ties == "movie_id":
        order = np.argsort(ratings.item, kind="stable")
        seen = pair_last_seen(data, ratings.user[order], ratings.item[order], ratings.time[order])
    else:
        raise ValueError(f"ties must be 'recorded' or 'movie_id', got {ties!r}")
    return data.with_seen(seen), seen  # as a retrain's data: TrainConfig.recency reads it


def loo_split(folder: str | Path, *, ties: str = "recorded", seed: int = 42) -> tuple[InteractionMatrix, Any]:
    """The full matrix and the leave-one-out :class:`~recommender.ml.holdout.EvaluationSplit` that
    :func:`leave_one_out` evaluates a configuration with seed ``seed`` on."""
    from recommender.ml.holdout import evaluation_split

    data, seen = loo_last_seen(folder, ties)
    return data, evaluation_split(data, seen, holdout_fraction=0.0, seed=seed)


# --- A served site for the load benchmarks: PostgreSQL, gunicorn, API tokens -----------------------

PYTHON = sys.executable
BIN = Path(PYTHON).parent

# Run with `manage.py shell -c` after a retrain: an API token for every viewer with published
# recommendations, the video ids, and (when SESSIONS > 0) logged-in session cookies for a seeded
# sample of those viewers, made the way Django's test client logs in (no password, no login form).
_FIXTURE_SCRIPT = """
import json
import random
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.authtoken.models import Token
from recommender.models import Recommendation
from recommender.selectors import active_version
from videos.models import Video

version = active_version()
user_ids = sorted(set(Recommendation.objects.filter(version=version).values_list("user_id", flat=True)))
tokens = [Token.objects.get_or_create(user_id=pk)[0].key for pk in user_ids]
sessions = []
users = get_user_model().objects.in_bulk(random.Random(7).sample(user_ids, min(SESSIONS, len(user_ids))))
for user in users.values():
    client = Client()
    client.force_login(user)
    sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
print(json.dumps({
    "version": version.pk,
    "tokens": tokens,
    "videos": list(Video.objects.order_by("id").values_list("id", flat=True)),
    "session_cookie": settings.SESSION_COOKIE_NAME,
    "sessions": sessions,
}))
"""


def server_env(
    database_url: str, workdir: Path, *, redis_url: str | None = None, cache_url: str | None = None
) -> dict[str, str]:
    """The environment of a production-like site on loopback: DEBUG off, a generated secret key,
    persistent database connections, state (models, var, static files) under ``workdir``.

    ``redis_url`` is the broker (and, unless ``cache_url`` names another, the cache); without it no
    broker is configured, so nothing of the run can reach a shared Redis queue. The site is reached
    over plain HTTP on 127.0.0.1, so the HTTPS redirect is off; a caller that sends
    ``X-Forwarded-Proto: https`` (as a TLS proxy does) is treated as HTTPS.
    """
    env = dict(os.environ)
    env.update(
        {
            # Empty rather than unset, so that a .env file beside manage.py cannot fill them in.
            "REDIS_URL": redis_url or "",
            "CACHE_URL": cache_url or redis_url or "",
            "DATABASE_URL": database_url,
            "DB_CONN_MAX_AGE": "60",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
            "MODEL_DIR": str(workdir / "models"),
            "VAR_DIR": str(workdir / "var"),
            "STATIC_ROOT": str(workdir / "static"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "recsite.settings",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 900, capture: bool = False) -> str:
    """Run ``manage.py <args>`` in ``env``; return its stdout when ``capture`` (else it is discarded).

    Its stderr (progress, TensorFlow's start-up lines) is shown only when the command fails."""
    completed = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        timeout=timeout,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if completed.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return completed.stdout or ""


def demo_site_prepare(env: dict[str, str], admin_url: str, db_name: str, *, epochs: int) -> None:
    """A fresh database ``db_name`` for the site of ``env``: migrated, static files collected, the demo
    data loaded (``seed_demo``) and a small model trained (``epochs``, 16-dimensional embeddings)."""
    database_recreate(admin_url, db_name)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0", timeout=300)
    manage(env, "seed_demo")
    manage(env, "retrain", "--no-progress", "--epochs", str(epochs), "--embedding-dim", "16")


def site_fixture(env: dict[str, str], *, sessions: int = 0) -> dict:
    """Tokens, video ids and ``sessions`` session cookies of the site's active version (see
    ``_FIXTURE_SCRIPT``); exits when that version published no recommendations."""
    script = f"SESSIONS = {int(sessions)}\n{_FIXTURE_SCRIPT}"
    out = manage(env, "shell", "-v", "0", "-c", script, timeout=300, capture=True)
    fixture = json.loads(out.strip().splitlines()[-1])
    if not fixture["tokens"]:
        raise SystemExit("the trained version published no recommendations")
    return fixture


def database_recreate(admin_url: str, name: str) -> None:
    """Drop (with its connections) and create the database ``name`` on the server of ``admin_url``."""
    import psycopg

    database_drop(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url_for(admin_url: str, name: str) -> str:
    """``admin_url`` with its database name replaced by ``name``."""
    base, _, _admin_db = admin_url.rpartition("/")
    return f"{base}/{name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(
    env: dict[str, str], port: int, *, workers: int, threads: int = 1, timeout: int = 30
) -> subprocess.Popen:
    """gunicorn serving the site on 127.0.0.1:``port`` in a process group of its own (see
    :func:`process_stop`); sync workers unless ``threads`` > 1."""
    return subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "recsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread" if threads > 1 else "sync",
            "--timeout",
            str(timeout),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def process_stop(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM, grace: float = 20) -> None:
    """Send ``sig`` to the process group started with ``start_new_session``; SIGKILL after ``grace`` s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=grace)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_ready(url: str, token: str, timeout: float = 60.0) -> None:
    """Wait until ``GET /api/recommendations/`` answers 200 for ``token``."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"{url}/api/recommendations/", headers={"Authorization": f"Token {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the site did not answer within {timeout:.0f} s")
        time.sleep(0.5)


def cpu_seconds(root_pid: int, db_name: str) -> dict[str, float]:
    """CPU time (user + system) used so far by the process ``root_pid`` and its children (a gunicorn
    master and its workers), and by the PostgreSQL backends serving ``db_name``; plus this process's
    finished children (``load``: e.g. wrk).

    Divided by the requests served these give the CPU cost per request of each part, figures that
    stay meaningful when other programs compete for the same cores.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    server = database = 0
    for pid, ppid, used, cmdline in _processes():
        if pid == root_pid or ppid == root_pid:
            server += used
        elif cmdline.startswith(b"postgres: ") and f" {db_name} ".encode() in cmdline:
            database += used
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"server": server / ticks, "database": database / ticks, "load": children.ru_utime + children.ru_stime}


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) used so far by the live process ``root_pid`` and all its live
    descendants (e.g. a Celery worker, its pool process and anything that one started)."""
    processes = list(_processes())
    children: dict[int, list[int]] = {}
    for pid, ppid, _ticks, _cmd in processes:
        children.setdefault(ppid, []).append(pid)
    tree, todo = set(), [root_pid]
    while todo:
        pid = todo.pop()
        if pid not in tree:
            tree.add(pid)
            todo.extend(children.get(pid, ()))
    used = sum(ticks for pid, _ppid, ticks, _cmd in processes if pid in tree)
    return used / os.sysconf("SC_CLK_TCK")


def _processes() -> Iterator[tuple[int, int, int, bytes]]:
    """(pid, parent pid, CPU ticks used, command line) of every process that can be read in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
        yield int(entry.name), int(fields[1]), int(fields[11]) + int(fields[12]), cmdline  # utime + stime
