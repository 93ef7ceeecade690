"""Asking for a retrain never trains in the asking process: a queued version row, then a Celery
task (with a broker) or a separate `manage.py retrain` process (without one) runs it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommender import services
from recommender.exceptions import AlreadyRunning
from recommender.locks import retrain_lock
from recommender.models import ModelVersion
from recommender.services import RetrainTicket, retrain_queued_run, retrain_request, scheduling
from recommender.tasks import retrain_task
from videos.models import Video, WatchEvent

TINY = {"epochs": 2, "embedding_dim": 4, "hidden_units": [8, 4], "batch_size": 256}


@pytest.fixture(autouse=True)
def _no_broker(eager_celery):
    """The zero-setup mode unless a test configures a broker (``with_broker``), also when the suite
    runs with REDIS_URL set."""


@pytest.fixture
def events(make_user):
    videos = [Video.objects.create(title=f"R{i}") for i in range(5)]
    for u in range(4):
        user = make_user(f"r{u}")
        for v in videos[u % 2 :: 2]:
            WatchEvent.objects.create(user=user, video=v, completion=0.9)
    return videos


@pytest.fixture
def with_broker(monkeypatch):
    """A configured broker whose publishes are recorded instead of sent."""
    from recsite.celery import app

    sent: list[dict] = []

    class Result:
        def __init__(self, task_id):
            self.id = task_id

    def apply_async(*args, kwargs=None, **options):
        sent.append({"kwargs": kwargs, **options})
        return Result(f"task-{len(sent)}")

    before = app.conf.task_always_eager
    app.conf.task_always_eager = False
    monkeypatch.setattr(retrain_task, "apply_async", apply_async)
    yield sent
    app.conf.task_always_eager = before


def _run_child(version: ModelVersion) -> ModelVersion:
    """What the separate process does: `manage.py retrain --queued-version N`."""
    call_command("retrain", "--queued-version", str(version.pk), "--no-progress")
    version.refresh_from_db()
    return version


@pytest.mark.django_db
def test_without_a_broker_a_queued_row_and_a_separate_process(events, retrain_processes):
    ticket = retrain_request(triggered_by="api", config_overrides=TINY)
    assert isinstance(ticket, RetrainTicket)
    assert (ticket.status, ticket.task_id) == ("queued", None)
    version = ModelVersion.objects.get()
    assert ticket.version == version and retrain_processes == [version]
    # Nothing was trained here: the row waits for the other process.
    assert (version.status, version.stage, version.n_recommendations) == ("queued", "queued", 0)
    assert version.hyperparameters["embedding_dim"] == 4 and version.triggered_by == "api"
    assert "separate process" in ticket.detail

    done = _run_child(version)
    assert done.status == "active" and done.n_recommendations > 0 and done.artifact_path


@pytest.mark.django_db
def test_the_started_process_runs_manage_py_retrain_for_the_version(events, settings, tmp_path, monkeypatch):
    """The real starter (not the test stand-in): its own session, output to a log under RETRAIN_LOG_DIR."""
    import subprocess

    from recommender import services as real

    calls = []

    class FakePopen:
        def __init__(self, command, **options):
            calls.append((command, options))

    monkeypatch.undo()  # drops the conftest stand-in for _retrain_process_start as well
    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    settings.RETRAIN_LOG_DIR = tmp_path / "logs"
    ticket = real.retrain_request(triggered_by="admin")
    ((command, options),) = calls
    assert command[-4:] == ["retrain", "--queued-version", str(ticket.version.pk), "--no-progress"]
    assert command[1].endswith("manage.py")
    assert options["start_new_session"] is True and options["stdin"] == subprocess.DEVNULL
    assert options["stdout"].name.startswith(str(tmp_path / "logs"))
    assert str(tmp_path / "logs") in ticket.detail


@pytest.mark.django_db
def test_a_process_that_cannot_start_leaves_no_row(events, monkeypatch):
    def broken(version):
        raise services.RetrainError("Could not start the retrain process: [Errno 12] Cannot allocate memory")

    monkeypatch.setattr(scheduling, "_retrain_process_start", broken)
    with pytest.raises(services.RetrainError, match="Could not start"):
        retrain_request(triggered_by="api")
    assert not ModelVersion.objects.exists()


@pytest.mark.django_db
def test_with_a_broker_the_task_carries_the_version_id(events, with_broker):
    ticket = retrain_request(triggered_by="admin", config_overrides={"epochs": 1})
    assert ticket.status == "queued" and ticket.task_id == "task-1"
    (message,) = with_broker
    assert message["kwargs"] == {"version_id": ticket.version.pk, "triggered_by": "admin"}
    assert message["ignore_result"] is True and message["retry_policy"]["max_retries"] <= 1
    assert ticket.version.status == "queued"


@pytest.mark.django_db
def test_the_task_runs_the_queued_row(events, eager_celery, retrain_processes):
    ticket = retrain_request(triggered_by="api", config_overrides=TINY)
    outcome = retrain_task.apply(kwargs={"version_id": ticket.version.pk}).get()
    assert outcome["status"] == "active" and outcome["version"] == ticket.version.pk
    assert ModelVersion.objects.count() == 1
    # A second delivery of the same message (acks_late) does not train again.
    again = retrain_task.apply(kwargs={"version_id": ticket.version.pk}).get()
    assert again["status"] == "not_queued" and ModelVersion.objects.count() == 1


@pytest.mark.django_db
def test_one_skip_rule_for_every_caller(events, retrain_processes, capsys):
    first = retrain_request(triggered_by="api", config_overrides=TINY)
    _run_child(first.version)

    skipped = retrain_request(triggered_by="admin")
    assert (skipped.status, skipped.version, skipped.task_id) == ("skipped", None, None)
    assert f"since model version {first.version.pk}" in skipped.detail
    call_command("retrain", "--async")
    assert "Retrain skipped: No watch event since model version" in capsys.readouterr().out
    assert ModelVersion.objects.count() == 1

    forced = retrain_request(triggered_by="admin", force=True, config_overrides=TINY)
    assert forced.status == "queued"
    _run_child(forced.version)
    call_command("retrain", "--async", "--even-if-unchanged", "--epochs", "1")
    assert "Retrain queued: model version" in capsys.readouterr().out
    _run_child(ModelVersion.objects.get(status="queued"))

    WatchEvent.objects.create(user=WatchEvent.objects.first().user, video=events[1], completion=0.4)
    assert retrain_request(triggered_by="beat").status == "queued"


@pytest.mark.django_db
def test_no_events_at_all_is_skipped_even_when_forced(db, retrain_processes):
    ticket = retrain_request(triggered_by="api", force=True)
    assert ticket.status == "skipped" and "No watch events" in ticket.detail
    assert not ModelVersion.objects.exists() and not retrain_processes


@pytest.mark.django_db
def test_bad_settings_are_refused_before_anything_is_queued(events, retrain_processes):
    with pytest.raises(ValueError, match="objective"):
        retrain_request(triggered_by="api", config_overrides={"objective": "magic"})
    assert not ModelVersion.objects.exists() and not retrain_processes


@pytest.mark.django_db
def test_refused_while_a_retrain_runs_or_waits(events, retrain_processes):
    with retrain_lock(), pytest.raises(AlreadyRunning, match="already running"):
        retrain_request(triggered_by="api")
    assert not ModelVersion.objects.exists()

    waiting = retrain_request(triggered_by="api").version
    with pytest.raises(AlreadyRunning, match=f"already queued \\(model version {waiting.pk}\\)"):
        retrain_request(triggered_by="admin", force=True)
    assert ModelVersion.objects.count() == 1


@pytest.mark.django_db
def test_a_queued_row_whose_process_never_started_is_failed_after_the_timeout(events, retrain_processes, settings):
    settings.RETRAIN_QUEUED_TIMEOUT = 120
    lost = retrain_request(triggered_by="api").version
    # Within its time the row is legitimately waiting: a run of another version leaves it alone.
    ModelVersion.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=60))
    services.versions_interrupted_fail()
    lost.refresh_from_db()
    assert lost.status == "queued"

    ModelVersion.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(seconds=121))
    fresh = retrain_request(triggered_by="api")  # the expired row no longer blocks a new request
    lost.refresh_from_db()
    assert lost.status == "failed" and "Never started" in lost.error and "RETRAIN_QUEUED_TIMEOUT" in lost.error
    assert fresh.status == "queued" and fresh.version.pk != lost.pk
    # ... and its late process finds nothing to run.
    with pytest.raises(CommandError, match=f"Model version {lost.pk} is not queued"):
        call_command("retrain", "--queued-version", str(lost.pk), "--no-progress")


@pytest.mark.django_db
def test_a_queued_row_whose_process_finds_the_lock_taken_is_failed(events, retrain_processes):
    version = retrain_request(triggered_by="api").version
    with retrain_lock(), pytest.raises(AlreadyRunning):
        retrain_queued_run(version_id=version.pk)
    version.refresh_from_db()
    assert version.status == "failed" and "another retrain was running" in version.error


@pytest.mark.django_db
def test_running_the_queued_row_fails_a_dead_running_one_but_not_itself(events, retrain_processes):
    dead = ModelVersion.objects.create(objective="completion", status=ModelVersion.Status.RUNNING)
    queued = retrain_request(triggered_by="api", config_overrides=TINY).version
    done = _run_child(queued)
    dead.refresh_from_db()
    assert dead.status == "failed" and "Interrupted" in dead.error
    assert done.status == "active"


@pytest.mark.django_db
def test_queued_version_takes_no_other_option(events):
    with pytest.raises(CommandError, match="give no other option"):
        call_command("retrain", "--queued-version", "1", "--epochs", "2")


@pytest.mark.django_db
def test_api_answers_202_with_the_version_then_200_skipped(events, retrain_processes):
    from api_support import token_client
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
    client = token_client(staff)
    queued = client.post("/api/retrain/", {"epochs": 1, "embedding_dim": 4}, format="json")
    assert queued.status_code == 202
    version = ModelVersion.objects.get()
    assert queued.json() == {
        "status": "queued",
        "version": version.pk,
        "task_id": None,
        "detail": queued.json()["detail"],
    }
    assert version.status == "queued" and version.triggered_by == "api"
    _run_child(version)

    skipped = client.post("/api/retrain/", {}, format="json")
    assert skipped.status_code == 200
    assert skipped.json()["status"] == "skipped" and skipped.json()["version"] is None
    assert "No watch event since model version" in skipped.json()["detail"]
    assert client.post("/api/retrain/", {"force": "yes"}, format="json").status_code == 400
    assert client.post("/api/retrain/", {"force": True}, format="json").status_code == 202


@pytest.mark.django_db
def test_api_answers_503_json_when_the_broker_is_unreachable(events, with_broker, monkeypatch):
    from api_support import token_client
    from django.contrib.auth import get_user_model
    from kombu.exceptions import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(retrain_task, "apply_async", unreachable)
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
    response = token_client(staff).post("/api/retrain/", {}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "broker_unavailable" and "unreachable" in response.json()["detail"]
    assert not ModelVersion.objects.exists()  # the queued row is removed again


WEB_PROCESS_SCRIPT = r"""
import json, sys, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from recommender.models import ModelVersion
from videos.models import Video, WatchEvent

User = get_user_model()
staff = User.objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
videos = [Video.objects.create(title=f"P{i}") for i in range(6)]
for u in range(6):
    user = User.objects.create_user(f"p{u}", password="a-long-password-123")
    for v in videos[u % 2 :: 2]:
        WatchEvent.objects.create(user=user, video=v, completion=0.9)
api = APIClient()
api.force_authenticate(staff)
t = time.monotonic()
r = api.post("/api/retrain/", {"epochs": 2, "embedding_dim": 4, "hidden_units": [8, 4]}, format="json")
out = {"status": r.status_code, "body": r.json(), "seconds": time.monotonic() - t}
version = ModelVersion.objects.get(pk=r.json()["version"])
out["right_after"] = version.status
deadline = time.monotonic() + 240
while version.status in ("queued", "running") and time.monotonic() < deadline:
    time.sleep(0.5)
    version.refresh_from_db()
out["finally"] = version.status
out["activate"] = api.post(f"/api/models/{version.pk}/activate/").status_code
out["tensorflow_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))[:3]
print("RESULT " + json.dumps(out))
"""


def test_a_web_process_queues_and_never_trains_or_loads_tensorflow(tmp_path):
    """Zero setup (no broker): the API answers at once, a separate process trains, and the web process
    activates the result without ever importing TensorFlow."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recsite.settings",
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}",
        "MODEL_DIR": str(tmp_path / "models"),
        "VAR_DIR": str(tmp_path / "var"),
        "RETRAIN_LOG_DIR": str(tmp_path / "logs"),
        "REDIS_URL": "",
        "CACHE_URL": "",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS_SCRIPT], cwd=root, env=env, capture_output=True, text=True, timeout=400
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result = json.loads(next(x for x in done.stdout.splitlines() if x.startswith("RESULT ")).removeprefix("RESULT "))
    logs = "".join(p.read_text() for p in (tmp_path / "logs").iterdir())
    assert result["status"] == 202 and result["body"]["status"] == "queued", result
    assert result["seconds"] < 5 and result["right_after"] == "queued", result  # answered before training
    assert result["finally"] == "active", (result, logs[-3000:])
    assert result["activate"] == 200
    assert result["tensorflow_loaded"] == [], result
    assert f"Model version {result['body']['version']} is now active" in logs
