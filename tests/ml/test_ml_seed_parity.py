"""The reference program's job, done by the new core: train on the 9 x 6 seed matrix
(objective ``completion``, 100 epochs, batch 64) and reproduce the observed cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from recommender.ml.config import TrainConfig
from recommender.ml.score import score_pairs, score_top_n
from recommender.ml.train import train_model

REPO = Path(__file__).resolve().parents[2]


def test_fixture_is_a_copy_of_the_reference_csv(seed_csv) -> None:
    copy = REPO / "tests/fixtures/seed-matrix.csv"
    assert copy.exists() and seed_csv == copy
    reference = REPO.parent / "shared/seed/test-data.csv"
    if reference.exists():
        pd.testing.assert_frame_equal(pd.read_csv(copy), pd.read_csv(reference))


def test_seed_matrix_observed_cells_are_reproduced(seed_frame, seed_data) -> None:
    config = TrainConfig(objective="completion", epochs=100, batch_size=64)
    result = train_model(seed_data, config)
    assert result.holdout == {}  # 29 cells < min_validation_samples: train on all
    assert result.epochs_run == 100

    users = seed_data.user_indices(seed_frame.user.to_numpy())
    videos = seed_data.video_indices(seed_frame.video.to_numpy())
    predicted = score_pairs(result.model, users, videos) * 10
    mae = float(np.mean(np.abs(predicted - seed_frame.value.to_numpy())))
    assert mae <= 0.8, mae

    # recommendations exist for every user, never for a watched video
    top = score_top_n(result.model, seed_data, top_n=3)
    watched = seed_data.watched_mask(np.arange(seed_data.n_users))
    for i in range(seed_data.n_users):
        vids = top.video_index[i][top.video_index[i] >= 0]
        assert len(vids) == min(3, (~watched[i]).sum())
        assert not watched[i, vids].any()
