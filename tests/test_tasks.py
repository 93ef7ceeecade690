"""Celery wiring: beat schedule, routing, the retrain task's outcomes, admin button, compose file."""

from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from recommender import services
from recommender.locks import retrain_lock
from recommender.models import ModelVersion, Recommendation
from recommender.tasks import retrain_task, score_shard_task
from recsite.celery import app
from videos.models import Video, WatchEvent

ROOT = Path(__file__).resolve().parents[1]
TINY = {"epochs": 2, "embedding_dim": 4, "hidden_units": [8, 4], "batch_size": 256}


@pytest.fixture
def events(make_user):
    videos = [Video.objects.create(title=f"T{i}") for i in range(5)]
    for u in range(4):
        user = make_user(f"t{u}")
        for v in videos[u % 2 :: 2]:
            WatchEvent.objects.create(user=user, video=v, completion=0.9)
    return videos


def test_beat_schedule_has_the_retrain_at_the_configured_interval(settings):
    entry = app.conf.beat_schedule["retrain-recommender"]
    assert entry["task"] == "recommender.tasks.retrain_task"
    assert entry["schedule"] == settings.RETRAIN_INTERVAL_MINUTES * 60
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


@pytest.mark.django_db(transaction=True)  # the scheduler closes the connection, like in beat
def test_database_scheduler_installs_the_entry_for_admins():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    DatabaseScheduler(app=app)
    task = PeriodicTask.objects.get(name="retrain-recommender")
    assert task.task == "recommender.tasks.retrain_task"
    assert task.interval.every * {"seconds": 1, "minutes": 60}[task.interval.period] == 3600


def test_tasks_are_registered_routed_and_crash_safe(settings):
    assert app.amqp.router.route({}, "recommender.tasks.retrain_task")["queue"].name == "training"
    assert app.amqp.router.route({}, "recommender.tasks.score_shard_task")["queue"].name == "default"
    for task in (retrain_task, score_shard_task):
        assert task.acks_late and task.reject_on_worker_lost
    assert retrain_task.soft_time_limit < retrain_task.time_limit
    assert app.conf.broker_transport_options["visibility_timeout"] > retrain_task.time_limit
    assert app.conf.worker_prefetch_multiplier == 1
    # JSON only (Celery's defaults): a message can never carry pickled objects
    assert app.conf.task_serializer == app.conf.result_serializer == "json"
    assert list(app.conf.accept_content) == ["json"] and list(app.conf.result_accept_content or ["json"]) == ["json"]


@pytest.mark.django_db
def test_task_trains_then_skips_without_new_events(events, eager_celery):
    first = retrain_task.apply(kwargs={"config": TINY}).get()
    assert first["status"] == "active"
    assert ModelVersion.objects.get(pk=first["version"]).triggered_by == "task"
    again = retrain_task.apply(kwargs={"config": TINY}).get()
    assert again["status"] == "skipped"
    forced = retrain_task.apply(kwargs={"config": TINY, "force": True}).get()
    assert forced["status"] == "active" and forced["version"] != first["version"]


@pytest.mark.django_db
def test_task_reports_no_data_and_already_running(db, eager_celery, events):
    with retrain_lock():
        assert retrain_task.apply(kwargs={"config": TINY}).get()["status"] == "already_running"
    WatchEvent.objects.all().delete()
    assert retrain_task.apply(kwargs={"config": TINY, "force": True}).get()["status"] == "no_data"


@pytest.mark.django_db
def test_a_failed_shard_fails_the_version(events, eager_celery, settings, monkeypatch, fast_config):
    previous = services.retrain(config=fast_config)
    settings.SCORING_SHARDS = 2
    real = services.recommendations_shard_write

    def flaky(*, version_id, start, stop):
        if start > 0:
            raise RuntimeError("shard worker lost its disk")
        return real(version_id=version_id, start=start, stop=stop)

    monkeypatch.setattr(services, "recommendations_shard_write", flaky)
    with pytest.raises(services.RetrainError, match="shard worker lost its disk"):
        services.retrain(config=fast_config)
    failed = ModelVersion.objects.get(status=ModelVersion.Status.FAILED)
    assert not Recommendation.objects.filter(version=failed).exists()
    previous.refresh_from_db()
    assert previous.status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_progress_is_visible_while_training(events, fast_config):
    seen = []

    def on_progress(version):
        row = ModelVersion.objects.get(pk=version.pk)
        seen.append((row.stage, row.epoch, row.epochs_total))

    services.retrain(config=fast_config.replace(epochs=3, patience=5), on_progress=on_progress)
    stages = [s for s, _, _ in seen]
    for stage in ["reading", "pivoting", "training", "scoring", "publishing", "done"]:
        assert stage in stages
    assert [(e, t) for s, e, t in seen if s == "training" and e] == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.django_db
def test_retrain_async_command_queues_and_a_separate_process_trains(events, eager_celery, capsys, retrain_processes):
    call_command("retrain", "--async", "--epochs", "1", "--embedding-dim", "4")
    version = ModelVersion.objects.get()
    assert f"Retrain queued: model version {version.pk} runs in a separate process" in capsys.readouterr().out
    assert (version.status, version.triggered_by) == ("queued", "command")  # nothing trained in this process
    assert retrain_processes == [version]

    call_command("retrain", "--queued-version", str(version.pk), "--no-progress")  # what that process runs
    version.refresh_from_db()
    assert version.status == "active" and version.hyperparameters["embedding_dim"] == 4


@pytest.mark.django_db
def test_admin_retrain_now_button(client, events, eager_celery, settings):
    url = reverse("admin:recommender_modelversion_retrain_now")
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
    viewer = get_user_model().objects.create_user("viewer2", password="a-long-password-123")

    client.force_login(viewer)
    assert client.post(url).status_code == 302 and not ModelVersion.objects.exists()  # to the admin login

    client.force_login(staff)
    assert client.get(url).status_code == 405
    page = client.get(reverse("admin:recommender_modelversion_changelist"))
    assert "Retrain now" in page.text
    response = client.post(url, follow=True)
    assert "Retrain queued" in response.text
    assert ModelVersion.objects.get().triggered_by == "admin"
    with retrain_lock():
        response = client.post(url, follow=True)
    assert "already running" in response.text
    assert ModelVersion.objects.count() == 1


def test_docker_compose_structure():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services_ = compose["services"]
    assert set(services_) == {"proxy", "web", "worker", "trainer", "beat", "redis", "db"}
    for name, service in services_.items():
        assert "healthcheck" in service, name
    assert "gunicorn" in services_["web"]["command"]
    # Only the TLS proxy is published; the web service trusts its X-Forwarded-Proto and one hop.
    published = {name for name, service in services_.items() if service.get("ports")}
    assert published == {"proxy"}
    assert {"80:80", "443:443"} <= set(services_["proxy"]["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in services_["proxy"]["volumes"]
    assert services_["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    web_env = services_["web"]["environment"]
    assert web_env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "X-Forwarded-Proto"
    assert web_env["API_NUM_PROXIES"] == "1"
    assert web_env["MODEL_DIR"] == "/data/models"
    assert "/healthz" in " ".join(services_["web"]["healthcheck"]["test"])
    caddyfile = (ROOT / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "{$SITE_ADDRESS:localhost}" in caddyfile
    # Retrains have a worker of their own (one at a time); short tasks never wait behind one.
    worker, trainer = services_["worker"]["command"], services_["trainer"]["command"]
    assert "--queues default " in worker and "training" not in worker
    assert "--queues training " in trainer and "--concurrency 1" in trainer
    # Training takes only the CPU that web requests leave free (SCHED_IDLE).
    assert trainer.startswith("chrt --idle 0 celery ")
    assert "beat" in services_["beat"]["command"] and services_["beat"]["deploy"]["replicas"] == 1
    redis_cmd = " ".join(services_["redis"]["command"])
    assert "--appendonly yes" in redis_cmd and "--maxmemory-policy noeviction" in redis_cmd
    for name in ("web", "worker", "trainer", "beat"):
        assert "models:/data/models" in services_[name]["volumes"]
        assert services_[name]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "models" in compose["volumes"]
    example = (ROOT / ".env.example").read_text()
    for key in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "MODEL_DIR", "DJANGO_ALLOWED_HOSTS"):
        assert f"{key}=" in example
