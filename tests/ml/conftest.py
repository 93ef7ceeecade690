"""Fixtures for the ML core tests: small hand-made data, no database, no Django."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # plain `pytest` (not `python -m pytest`) from elsewhere
    sys.path.insert(0, str(REPO))

from recommender.ml.config import TrainConfig  # noqa: E402
from recommender.ml.data import InteractionMatrix, pivot  # noqa: E402

SEED_CSV = REPO / "tests/fixtures/seed-matrix.csv"
SHARED_SEED_CSV = REPO.parent / "shared/seed/test-data.csv"


def load_seed_frame() -> pd.DataFrame:
    """The reference wide matrix melted to long rows (user, video, value 1..10)."""
    path = SEED_CSV if SEED_CSV.exists() else SHARED_SEED_CSV
    wide = pd.read_csv(path)
    long = wide.melt(id_vars="User", var_name="Video", value_name="value").dropna()
    return pd.DataFrame(
        {
            "user": long["User"].str.removeprefix("User").astype(int).to_numpy(),
            "video": long["Video"].str.removeprefix("Video ").astype(int).to_numpy(),
            "value": long["value"].to_numpy(dtype=float),
        }
    )


@pytest.fixture(scope="session")
def seed_csv() -> Path:
    return SEED_CSV if SEED_CSV.exists() else SHARED_SEED_CSV


@pytest.fixture(scope="session")
def seed_frame() -> pd.DataFrame:
    return load_seed_frame()


@pytest.fixture(scope="session")
def seed_data(seed_frame: pd.DataFrame) -> InteractionMatrix:
    return pivot(seed_frame.user, seed_frame.video, seed_frame.value / 10)


def make_random_data(n_users: int = 30, n_videos: int = 40, density: float = 0.3, seed: int = 0) -> InteractionMatrix:
    """Random interactions with non-contiguous external ids and some explicit zeros.
    User 0 watches everything but 3 videos (padding tests)."""
    rng = np.random.default_rng(seed)
    observed = rng.random((n_users, n_videos)) < density
    observed[0] = True
    observed[0, [5, 17, 33]] = False
    observed[:, 0] |= ~observed.any(axis=1)  # every user has at least one event
    rows, cols = np.nonzero(observed)
    completion = rng.random(len(rows))
    completion[rng.random(len(rows)) < 0.1] = 0.0
    user_ids = np.arange(n_users) * 7 + 100
    video_ids = np.arange(n_videos) * 3 + 5
    return pivot(user_ids[rows], video_ids[cols], completion)


@pytest.fixture(scope="session")
def small_data() -> InteractionMatrix:
    return make_random_data()


TINY = TrainConfig(
    embedding_dim=8,
    hidden_units=(8, 4),
    epochs=2,
    batch_size=64,
    negatives=2,
    min_validation_samples=10_000,  # no validation split unless a test asks for one
)


@pytest.fixture(scope="session")
def tiny_config() -> TrainConfig:
    """A few-parameter model, two epochs, no validation split."""
    return TINY


@pytest.fixture(autouse=True)
def _model_dir(tmp_path: Path) -> Path:
    """Shadows the autouse fixture of the same name in tests/conftest.py, which needs
    pytest-django's ``settings``: the ML tests run without Django (``-p no:django``)."""
    return tmp_path / "models"


@pytest.fixture(autouse=True)
def _no_event_triggered_retrains() -> None:
    """Shadows the Django-settings fixture of the same name in tests/conftest.py (see ``_model_dir``)."""
