"""One retrain at a time, whoever starts it, with a lock that a killed process cannot leave stuck.

* PostgreSQL: a session-level advisory lock taken on a dedicated connection. The server releases it
  the moment that connection ends, including when the holding process is killed with SIGKILL, and it
  works across machines sharing the database.
* Other databases (SQLite, the zero-setup default, lives on one machine anyway): an exclusive
  ``flock`` on a file beside the model artifacts, which the kernel releases when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connections

from recommender.exceptions import AlreadyRunning

# An arbitrary constant identifying "the retrain" among advisory locks (fits in a signed bigint).
RETRAIN_LOCK_KEY = 0x5245_5452_4149_4E  # "RETRAIN"


@contextlib.contextmanager
def retrain_lock(*, alias: str = "default") -> Iterator[None]:
    """Hold the retrain lock for the duration of the block; raise AlreadyRunning at once if taken."""
    if connections[alias].vendor == "postgresql":
        with _advisory_lock(alias):
            yield
    else:
        with _file_lock(Path(settings.MODEL_DIR) / ".retrain.lock"):
            yield


def retrain_lock_is_held(*, alias: str = "default") -> bool:
    """True when some process holds the retrain lock right now."""
    try:
        with retrain_lock(alias=alias):
            return False
    except AlreadyRunning:
        return True


@contextlib.contextmanager
def _advisory_lock(alias: str) -> Iterator[None]:
    import psycopg

    params = connections[alias].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    params.pop("server_side_binding", None)
    params.setdefault("connect_timeout", 10)  # a database that does not answer must not hang the caller
    # A connection of its own: Django may close or recycle its connection during a long task,
    # which would silently drop a session lock taken on it.
    conn = psycopg.connect(**params, autocommit=True, application_name="recommender-retrain-lock")
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", [RETRAIN_LOCK_KEY]).fetchone()
        acquired = row is not None and row[0]
        if not acquired:
            raise AlreadyRunning()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", [RETRAIN_LOCK_KEY])
    finally:
        conn.close()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning() from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
