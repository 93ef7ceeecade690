"""Real processes: a private redis-server, Celery workers, and `manage.py` commands.

These tests need PostgreSQL (the worker processes must see the test database, so data is
committed: ``transaction=True``). Locally without ``DATABASE_URL=postgres://...`` they are skipped;
in CI (``CI`` set) a missing PostgreSQL is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def require_postgres(transactional_db):
    if connection.vendor != "postgresql":
        if os.environ.get("CI"):
            pytest.fail("integration tests need DATABASE_URL=postgres://... in CI")
        pytest.skip("integration tests need DATABASE_URL=postgres://...")


@pytest.fixture
def redis_url(tmp_path):
    """A private redis-server on a spare port (tests may stop it; the shared one is never touched)."""
    server = shutil.which("redis-server")
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server not found")
        pytest.skip("redis-server not found")
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def ready():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_for(ready, timeout=10, what="redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def stack_env(require_postgres, redis_url, settings, tmp_path):
    """Environment for subprocesses: the test database, the private Redis, a shared MODEL_DIR."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    host = db.get("HOST") or "127.0.0.1"
    url = f"postgres://{auth}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"
    settings.MODEL_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recsite.settings",
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "MODEL_DIR": str(settings.MODEL_DIR),
        "RETRAIN_AFTER_NEW_EVENTS": "0",
        "SCORING_SHARDS": "1",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


class Worker:
    def __init__(self, proc: subprocess.Popen, log: Path):
        self.proc = proc
        self.log = log

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self, sig=signal.SIGKILL) -> None:
        """Kill the worker's whole process group (main process and pool children)."""
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


@pytest.fixture
def start_worker(stack_env, tmp_path):
    workers: list[Worker] = []

    def start(name: str = "w1", queues: str = "default,training", **extra_env: str) -> Worker:
        log = tmp_path / f"{name}.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "recsite",
                "worker",
                "--queues",
                queues,
                "--concurrency",
                "1",
                "--hostname",
                f"{name}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env={**stack_env, **extra_env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        worker = Worker(proc, log)
        workers.append(worker)
        wait_for(lambda: " ready." in worker.text() or proc.poll() is not None, timeout=90, what=f"worker {name}")
        assert proc.poll() is None, worker.text()
        return worker

    yield start
    for worker in workers:
        if worker.proc.poll() is None:
            worker.kill()


@pytest.fixture
def manage(stack_env):
    """Run or start `python manage.py ...` against the test database and private Redis."""

    def run(*args: str, background: bool = False, env: dict | None = None, timeout: float = 300):
        cmd = [sys.executable, "manage.py", *args]
        full_env = {**stack_env, **(env or {})}
        if background:
            return subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=full_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)

    return run
