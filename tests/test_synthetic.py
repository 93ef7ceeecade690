"""bench/make_synthetic.py: reproducible, shaped like watch data, and loadable like MovieLens."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from make_synthetic import SyntheticSpec, generate, main, skews

from videos.models import Category, Video, WatchEvent
from videos.movielens import movielens_load, movielens_read

SMALL = SyntheticSpec(users=600, videos=400, events=30_000, seed=3)


@pytest.fixture(scope="module")
def small() -> dict[str, np.ndarray]:
    return generate(SMALL)


def test_sizes_and_one_watch_per_viewer_and_video(small):
    assert len(small["users"]) == SMALL.events
    pairs = small["users"] * SMALL.videos + small["videos"]
    assert len(np.unique(pairs)) == SMALL.events
    per_user = np.bincount(small["users"], minlength=SMALL.users)
    assert per_user.min() >= SMALL.min_events
    assert 0 <= small["videos"].min() and small["videos"].max() < SMALL.videos
    assert ((small["completion"] >= 0) & (small["completion"] <= 1)).all()


def test_same_seed_same_data_other_seed_other_data(small):
    again = generate(SMALL)
    assert all(np.array_equal(small[key], again[key]) for key in ("users", "videos", "completion", "timestamp"))
    other = generate(SyntheticSpec(users=600, videos=400, events=30_000, seed=4))
    assert not np.array_equal(small["videos"], other["videos"])


def test_popularity_and_activity_are_skewed(small):
    shape = skews(small, SMALL)
    # Uniform data would give 10 % to the top tenth; watch logs give it several times that.
    assert shape["top_10pct_videos_share_of_watches"] > 0.3
    assert shape["top_10pct_viewers_share_of_watches"] > 0.25


def test_tastes_have_category_structure(small):
    shape = skews(small, SMALL)
    assert shape["mean_top_category_share_per_viewer"] > 2.5 * shape["uniform_top_category_share"]
    # Viewers complete more of the categories they watch most.
    category = small["primary"][small["videos"]]
    favourite = np.argmax(small["taste"], axis=1)[small["users"]]
    liked = small["completion"][category == favourite].mean()
    other = small["completion"][category != favourite].mean()
    assert liked > other + 0.05


def test_long_videos_are_completed_less(small):
    shape = skews(small, SMALL)
    assert shape["mean_completion_long_videos"] < shape["mean_completion_short_videos"] - 0.05


def test_timestamps_are_in_order_per_viewer(small):
    same_user = small["users"][1:] == small["users"][:-1]
    assert (np.diff(small["timestamp"])[same_user] >= 0).all()


def test_impossible_sizes_give_one_clear_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--users", "100", "--videos", "50", "--events", "200", "--out", str(tmp_path / "x")])
    assert exit_.value.code == 2
    assert "cannot give 100 viewers 5 watches each" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.django_db
def test_the_folder_loads_like_movielens(tmp_path, capsys):
    out = tmp_path / "synthetic"
    assert main(["--users", "40", "--videos", "30", "--events", "400", "--seed", "1", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] == 400
    params = json.loads((out / "params.json").read_text())
    assert params["users"] == 40 and "skews" in params

    data = movielens_read(out)
    assert data.layout == "ml-latest-small" and len(data.ratings) == 400
    assert all(movie.duration_seconds >= 20 for movie in data.movies)

    result = movielens_load(out)
    assert (result.users_created, result.videos_created, result.events_created) == (40, 30, 400)
    assert WatchEvent.objects.count() == 400
    assert Video.objects.filter(duration_seconds__gte=20).count() == 30
    assert Category.objects.count() >= 1
    stored = sorted(WatchEvent.objects.values_list("completion", flat=True))
    assert stored == pytest.approx(sorted(np.clip(data.ratings.rating / 5.0, 0, 1)))
    assert movielens_load(out).events_created == 0  # a second load stores nothing twice
