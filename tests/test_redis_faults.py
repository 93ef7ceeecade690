"""Redis faults cost a request about a second at most, never a 5xx after a write, never a traceback
per call: a port where nothing listens (connection refused) and a server that accepts connections
and never answers (a tiny thread server inside the test). The shared Redis is never touched."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from recsite.cache import ResilientRedisCache

ROOT = Path(__file__).resolve().parents[1]


def dead_port() -> int:
    """A port with nothing listening on it (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SilentServer:
    """Accepts TCP connections and never sends a byte (a hung Redis)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._conns.append(conn)

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


def _cache(location: str, *, backoff: float = 10.0) -> ResilientRedisCache:
    # A location of its own per test: the circuit breaker is shared per address within a process.
    return ResilientRedisCache(
        location,
        {
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5, "FAILURE_BACKOFF": backoff},
            "KEY_PREFIX": "t",
        },
    )


def test_refused_cache_reads_as_a_miss_with_one_log_line_and_no_traceback(caplog):
    cache = _cache(f"redis://127.0.0.1:{dead_port()}/0")
    caplog.set_level(logging.WARNING, logger="recsite.cache")
    started = time.monotonic()
    for _ in range(50):
        assert cache.get("k", "miss") == "miss"
        cache.set("k", 1)
        assert cache.add("k", 1) is None or cache.add("k", 1) is False
        assert cache.get_many(["a", "b"]) == {}
    assert time.monotonic() - started < 2.0
    records = [r for r in caplog.records if r.name == "recsite.cache"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None and "unavailable" in records[0].getMessage()
    assert "Connection refused" in records[0].getMessage() or "Error 111" in records[0].getMessage()


def test_silent_redis_costs_one_timeout_then_the_breaker_skips_it(silent_server, caplog):
    cache = _cache(f"redis://127.0.0.1:{silent_server.port}/1", backoff=0.8)
    started = time.monotonic()
    assert cache.get("k", "miss") == "miss"
    first = time.monotonic() - started
    assert 0.3 < first < 1.5  # one socket timeout

    started = time.monotonic()
    for _ in range(100):  # e.g. the throttles' calls of many requests
        assert cache.get("k", "miss") == "miss"
        cache.set("k", 1)
    assert time.monotonic() - started < 0.2  # the breaker is open: no waiting on Redis at all
    accepted = silent_server.accepted

    time.sleep(0.9)  # the back-off is over: the next call tries Redis again
    started = time.monotonic()
    assert cache.get("k", "miss") == "miss"
    assert time.monotonic() - started > 0.3
    assert silent_server.accepted >= accepted  # a new attempt (reusing or opening a connection)
    assert len([r for r in caplog.records if r.name == "recsite.cache"]) == 1  # still one line this minute


def test_rate_counter_passes_when_redis_is_refused_or_silent(silent_server, caplog):
    """The limiters' counter (one script, one round trip) fails like any cache call: None, one log line,
    then the breaker skips Redis."""
    caplog.set_level(logging.WARNING, logger="recsite.cache")
    refused = _cache(f"redis://127.0.0.1:{dead_port()}/0")
    silent = _cache(f"redis://127.0.0.1:{silent_server.port}/2", backoff=5)
    started = time.monotonic()
    for _ in range(50):
        assert refused.count_in_window("throttle_user_1", 60) is None
        assert silent.count_in_window("throttle_user_1", 60) is None
    assert time.monotonic() - started < 1.5  # one socket timeout at most, then the breakers are open
    assert len([r for r in caplog.records if r.name == "recsite.cache"]) == 2  # one line per Redis


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (set in CI)")
def test_rate_counter_counts_in_a_window_that_expires():
    import uuid

    cache = _cache(os.environ["REDIS_URL"])
    key = f"window-{uuid.uuid4()}"
    try:
        assert [cache.count_in_window(key, 1)[0] for _ in range(3)] == [1, 2, 3]
        hits, left = cache.count_in_window(key, 1)
        assert hits == 4 and 0 < left <= 1
        time.sleep(1.1)
        assert cache.count_in_window(key, 1)[0] == 1  # a new window
        cache.set(key, 7, timeout=None)  # a counter without expiry gets one
        assert cache.count_in_window(key, 30) == (8, 30.0)
        assert 0 < cache.ttl(key) <= 30
        cache.client.get_client(write=True).script_flush()  # a restarted Redis: the script is sent again
        assert cache.count_in_window(key, 30)[0] == 9
        assert cache.count_in_window(key, 30)[0] == 10
    finally:
        cache.delete(key)


def test_breaker_logs_again_after_a_minute():
    from recsite.cache import CircuitBreaker

    now = [1000.0]
    breaker = CircuitBreaker(name="x", backoff=5, clock=lambda: now[0])
    logged = []
    handler = logging.Handler()
    handler.emit = logged.append
    logger = logging.getLogger("recsite.cache")
    logger.addHandler(handler)
    try:
        for step in range(130):  # two minutes of failures, one a second
            now[0] = 1000.0 + step
            breaker.record_failure(ConnectionRefusedError("refused"))
    finally:
        logger.removeHandler(handler)
    assert len(logged) == 3  # at 0 s, 60 s and 120 s
    assert breaker.is_open()
    now[0] += 6
    assert not breaker.is_open()


def test_every_redis_client_has_short_timeouts(settings):
    from recsite.celery import app

    conf = app.conf
    assert conf.broker_connection_timeout <= 1
    assert conf.broker_transport_options["socket_connect_timeout"] <= 1
    assert conf.broker_transport_options["socket_timeout"] <= 1
    assert conf.task_publish_retry_policy["max_retries"] <= 1 and conf.task_publish_retry_policy["interval_max"] <= 0.5
    assert conf.redis_socket_connect_timeout <= 1 and conf.redis_socket_timeout <= 1
    # The cache (django-redis) when REDIS_URL / CACHE_URL is set: same timeouts, the breaker backend.
    assert settings.REDIS_CONNECT_TIMEOUT <= 1 and settings.REDIS_SOCKET_TIMEOUT <= 1
    if settings.CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache":
        options = settings.CACHES["default"]["OPTIONS"]
        assert settings.CACHES["default"]["BACKEND"] == "recsite.cache.ResilientRedisCache"
        assert options["SOCKET_TIMEOUT"] <= 1 and options["SOCKET_CONNECT_TIMEOUT"] <= 1


# --- The every-N-events nudge: after the commit, once per write, never an error -------------------


@pytest.fixture
def queued(monkeypatch, eager_celery):
    """A configured broker whose retrain requests are recorded instead of queued."""
    from recommender.services import scheduling

    eager_celery.conf.task_always_eager = False  # eager_celery restores it afterwards
    requests: list[str] = []

    def request(*, triggered_by, **kwargs):
        requests.append(triggered_by)
        return scheduling.RetrainTicket(status="queued", version=None, task_id="t", detail="queued")

    monkeypatch.setattr(scheduling, "retrain_request", request)
    return requests


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [(1, 9, False), (5, 12, True), (10, 10, True), (11, 19, False), (1, 100, True), (20, 20, True), (21, 21, False)],
)
def test_nudge_queues_when_a_write_crosses_a_multiple_of_n_events(settings, queued, first, last, expected):
    from recommender.services import retrain_nudge

    settings.RETRAIN_AFTER_NEW_EVENTS = 10
    assert retrain_nudge(first_event_id=first, last_event_id=last) is expected
    assert queued == (["events"] if expected else [])


@pytest.mark.django_db
def test_a_bulk_write_nudges_once_for_the_batch_after_it_committed(
    settings, queued, make_user, monkeypatch, django_capture_on_commit_callbacks
):
    from recommender.services import scheduling
    from videos.models import Video, WatchEvent
    from videos.services import watch_events_record_bulk

    settings.RETRAIN_AFTER_NEW_EVENTS = 10
    calls = []
    real = scheduling.retrain_nudge
    monkeypatch.setattr(scheduling, "retrain_nudge", lambda **kw: calls.append(kw) or real(**kw))
    user = make_user("bulk")
    videos = [Video.objects.create(title=f"B{i}") for i in range(25)]
    with django_capture_on_commit_callbacks(execute=True):
        results = watch_events_record_bulk(user=user, items=[{"video": v, "completion": 0.5} for v in videos])
        assert calls == []  # nothing before the commit
    ids = [event.pk for event, _ in results]
    assert calls == [{"first_event_id": min(ids), "last_event_id": max(ids)}]
    assert queued == ["events"] and WatchEvent.objects.count() == 25


@pytest.mark.django_db
def test_a_failing_nudge_never_fails_the_write(
    settings, make_user, monkeypatch, caplog, eager_celery, django_capture_on_commit_callbacks
):
    from recommender.services import scheduling
    from videos.models import Video, WatchEvent
    from videos.services import watch_event_record

    settings.RETRAIN_AFTER_NEW_EVENTS = 1
    eager_celery.conf.task_always_eager = False

    def broken(**kwargs):
        raise RuntimeError("broker exploded")

    monkeypatch.setattr(scheduling, "retrain_request", broken)
    caplog.set_level(logging.WARNING)
    with django_capture_on_commit_callbacks(execute=True):
        event, created = watch_event_record(user=make_user("w"), video=Video.objects.create(title="W"), completion=1)
    assert created and WatchEvent.objects.filter(pk=event.pk).exists()
    (record,) = [r for r in caplog.records if "Could not queue a retrain" in r.getMessage()]
    assert "broker exploded" in record.getMessage() and record.exc_info is None


# --- A whole site process against a broken Redis -----------------------------------------------

SITE_SCRIPT = r"""
import json, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from videos.models import Video, WatchEvent
from recommender.models import ModelVersion

User = get_user_model()
staff = User.objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
viewer = User.objects.create_user("viewer", password="a-long-password-123")
videos = [Video.objects.create(title=f"F{i}") for i in range(60)]
WatchEvent.objects.create(user=viewer, video=videos[0], completion=0.5)
out = {}

admin_api = APIClient()
admin_api.force_authenticate(staff)
admin_api.post("/api/retrain/", {}, format="json")  # the first one also pays the imports of the queue client
t = time.monotonic()
r = admin_api.post("/api/retrain/", {}, format="json")
out["retrain"] = {"status": r.status_code, "body": r.json(), "seconds": time.monotonic() - t,
                  "versions": ModelVersion.objects.count()}

viewer_api = APIClient()
viewer_api.force_authenticate(viewer)
t = time.monotonic()
r = viewer_api.post(
    "/api/events/bulk/",
    {"events": [{"video": v.pk, "completion": 0.7, "client_event_id": f"e{v.pk}"} for v in videos]},
    format="json",
)
out["bulk"] = {"status": r.status_code, "seconds": time.monotonic() - t, "events": WatchEvent.objects.count(),
               "versions": ModelVersion.objects.count()}

times = []
for _ in range(10):
    t = time.monotonic()
    r = viewer_api.get("/api/videos/")
    times.append(time.monotonic() - t)
    assert r.status_code == 200, r.status_code
out["reads"] = times
print("RESULT " + json.dumps(out))
"""


def _run_site(tmp_path: Path, redis_url: str) -> tuple[dict, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recsite.settings",
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "REDIS_URL": redis_url,
        "MODEL_DIR": str(tmp_path / "models"),
        "VAR_DIR": str(tmp_path / "var"),
        "RETRAIN_AFTER_NEW_EVENTS": "10",
        "LOG_LEVEL": "INFO",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.pop("CACHE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SITE_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-6000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT ")), done.stderr


def _assert_degraded_but_working(result: dict, log: str) -> None:
    retrain = result["retrain"]
    assert retrain["status"] == 503, retrain
    assert retrain["body"]["code"] == "broker_unavailable" and "unreachable" in retrain["body"]["detail"]
    assert retrain["seconds"] < 1.5 and retrain["versions"] == 0  # at once, and nothing left behind

    bulk = result["bulk"]
    assert bulk["status"] == 201, bulk  # committed, so never a 5xx
    assert bulk["events"] == 61 and bulk["versions"] == 0
    assert bulk["seconds"] < 3.0

    assert max(result["reads"][1:]) < 0.5, result["reads"]  # no per-request Redis wait
    assert "Traceback" not in log, log[-4000:]
    assert log.count("recsite.cache: Cache") == 1, log[-4000:]
    assert log.count("Could not queue a retrain after event") == 1  # one nudge for the batch


def test_site_with_redis_refusing_connections(tmp_path):
    result, log = _run_site(tmp_path, f"redis://127.0.0.1:{dead_port()}/0")
    _assert_degraded_but_working(result, log)


def test_site_with_redis_that_never_answers(tmp_path, silent_server):
    result, log = _run_site(tmp_path, f"redis://127.0.0.1:{silent_server.port}/0")
    _assert_degraded_but_working(result, log)
    assert silent_server.accepted >= 1  # it really talked to the silent server
