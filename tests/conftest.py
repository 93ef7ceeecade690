from pathlib import Path

import pytest
from browser_support import chromium_driver  # noqa: F401  (the browser tests' fixture)
from django.contrib.auth import get_user_model

from recommender.ml.config import TrainConfig

FIXTURES = Path(__file__).parent / "fixtures"
SEED_MATRIX = FIXTURES / "seed-matrix.csv"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Every test starts with an empty cache: no active version or popular list cached by another."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    """Every test starts in the default language: a request in another language (the locale
    middleware activates it for the thread) must not leak into the next test."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    """Model artifacts of every test go to a fresh temporary folder."""
    settings.MODEL_DIR = tmp_path / "models"


@pytest.fixture
def fast_config() -> TrainConfig:
    """A small, quick model: enough to exercise the whole pipeline in a second or two."""
    return TrainConfig(objective="expected_completion", embedding_dim=8, hidden_units=(16, 8), epochs=3, batch_size=256)


@pytest.fixture
def make_user(db):
    def make(username: str = "viewer", password: str = "a-long-password-123", **extra):
        return get_user_model().objects.create_user(username=username, password=password, **extra)

    return make


@pytest.fixture
def eager_celery():
    """Run Celery tasks in-process for this test, even when a broker is configured."""
    from recsite.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def retrain_processes(monkeypatch, settings, tmp_path) -> list:
    """Retrain requests without a broker start a separate `manage.py retrain` process; in tests none
    is started (it would not see the test database). The versions it would have run are listed
    here; a test runs one with `call_command("retrain", "--queued-version", str(pk))`."""
    from recommender.services import scheduling

    settings.RETRAIN_LOG_DIR = tmp_path / "logs"
    started: list = []

    def start(version):
        started.append(version)
        return tmp_path / "logs" / f"retrain-v{version.pk}.log"

    monkeypatch.setattr(scheduling, "_retrain_process_start", start)
    return started


@pytest.fixture(autouse=True)
def _no_event_triggered_retrains(settings):
    """Tests opt in to event-triggered retrains; otherwise no task leaves for the shared broker."""
    settings.RETRAIN_AFTER_NEW_EVENTS = 0


@pytest.fixture(autouse=True)
def _evaluate_tiny_data(settings):
    """Tests train on a few viewers on purpose and still want the held-out figures."""
    settings.RECOMMENDER_EVAL_MIN_USERS = 0
