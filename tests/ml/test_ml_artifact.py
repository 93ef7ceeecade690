from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.ml.artifact import (
    ArtifactIntegrityError,
    load_artifact,
    save_artifact,
)
from recommender.ml.score import score_pairs, score_top_n
from recommender.ml.train import train_model


@pytest.fixture(scope="module")
def trained(small_data, tiny_config):
    config = tiny_config.replace(architecture="neumf")
    return train_model(small_data, config).model, config


def _siblings(path):
    return sorted(p.name for p in path.parent.iterdir())


def test_round_trip(tmp_path, small_data, trained) -> None:
    model, config = trained
    target = tmp_path / "models" / "v1"
    path, digest = save_artifact(target, model=model, data=small_data, config=config, meta={"version": 1})
    assert path == target
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "data.npz", "model.keras"]
    assert len(digest) == 64 and json.loads((path / "config.json").read_text())["model_sha256"] == digest
    assert _siblings(path) == ["v1"]  # no temporary directory left behind

    art = load_artifact(path)
    assert art.config == config and art.meta == {"version": 1}
    np.testing.assert_array_equal(art.data.user_ids, small_data.user_ids)
    np.testing.assert_array_equal(art.data.video_ids, small_data.video_ids)
    assert (art.data.matrix != small_data.matrix).nnz == 0
    assert art.data.n_interactions == small_data.n_interactions  # explicit zeros survive
    np.testing.assert_array_equal(art.data.watched_mask([0, 1]), small_data.watched_mask([0, 1]))

    users, videos, _ = small_data.triples()
    np.testing.assert_array_equal(score_pairs(art.model, users, videos), score_pairs(model, users, videos))
    before, after = score_top_n(model, small_data, top_n=5), score_top_n(art.model, art.data, top_n=5)
    np.testing.assert_array_equal(before.video_index, after.video_index)
    np.testing.assert_array_equal(before.score, after.score)
    np.testing.assert_array_equal(before.reason_index, after.reason_index)


def test_refuses_to_overwrite(tmp_path, small_data, trained) -> None:
    model, config = trained
    target = tmp_path / "v1"
    target.mkdir()
    with pytest.raises(FileExistsError):
        save_artifact(target, model=model, data=small_data, config=config)
    assert _siblings(target) == ["v1"] and list(target.iterdir()) == []


def test_failed_save_leaves_nothing(tmp_path, small_data, trained, monkeypatch) -> None:
    model, config = trained

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_artifact(tmp_path / "v2", model=model, data=small_data, config=config)
    assert list(tmp_path.iterdir()) == []


def test_meta_must_be_json(tmp_path, small_data, trained) -> None:
    model, config = trained
    with pytest.raises(TypeError):
        save_artifact(tmp_path / "v3", model=model, data=small_data, config=config, meta={"x": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("victim", ["model.keras", "data.npz"])
def test_tampered_file_is_rejected(tmp_path, small_data, trained, victim) -> None:
    model, config = trained
    path, _ = save_artifact(tmp_path / "v4", model=model, data=small_data, config=config)
    f = path / victim
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(ArtifactIntegrityError, match="SHA-256"):
        load_artifact(path)


def test_missing_artifact(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        load_artifact(tmp_path / "nope")
