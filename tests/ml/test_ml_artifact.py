from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recommender.ml.artifact import (
    FORMAT_VERSION,
    ArtifactIntegrityError,
    load_artifact,
    save_artifact,
    verify_artifact,
)
from recommender.ml.score import score_pairs, score_top_n, video_embeddings
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


def test_round_trip_keeps_when_pairs_were_watched(tmp_path, small_data, trained) -> None:
    """Scoring from the artifact (shards, the forward evaluation) ranks with the viewers' latest
    watches, so the watch order travels with the matrix; a matrix without it loads without it."""
    model, config = trained
    seen = np.random.default_rng(5).permutation(small_data.n_interactions)
    path, _ = save_artifact(tmp_path / "with", model=model, data=small_data.with_seen(seen), config=config)
    np.testing.assert_array_equal(load_artifact(path).data.seen, seen)
    path, _ = save_artifact(tmp_path / "without", model=model, data=small_data, config=config)
    assert load_artifact(path).data.seen is None


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


def test_record_names_the_architecture(tmp_path: Path, small_data: Any, trained: Any) -> None:
    model, config = trained
    path, _ = save_artifact(tmp_path / "v5", model=model, data=small_data, config=config)
    record = json.loads((path / "config.json").read_text())
    assert record["format"] == FORMAT_VERSION == 2 and record["architecture"] == "neumf"
    with pytest.raises(ValueError, match="built by architecture 'neumf'"):
        save_artifact(tmp_path / "v6", model=model, data=small_data, config=config.replace(architecture="mlp"))
    assert not (tmp_path / "v6").exists()


def test_record_that_disagrees_with_the_model_is_refused(tmp_path: Path, small_data: Any, trained: Any) -> None:
    model, config = trained
    path, _ = save_artifact(tmp_path / "v7", model=model, data=small_data, config=config)
    record = json.loads((path / "config.json").read_text())
    record["architecture"] = "mlp"
    (path / "config.json").write_text(json.dumps(record))
    with pytest.raises(ArtifactIntegrityError, match="architecture"):
        load_artifact(path)


FORMAT_1 = Path(__file__).resolve().parents[1] / "fixtures" / "artifacts-format1.tar.xz"


@pytest.fixture(scope="module")
def format_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Artifacts written by the format-1 code (commit c92b52d), before architectures were
    registered: a ``completion`` mlp and an ``expected_completion`` neumf with biases, trained for
    three epochs on eleven made-up events; ``expected.json`` holds what that code's scorer gave."""
    folder = tmp_path_factory.mktemp("format1")
    with tarfile.open(FORMAT_1) as tar:
        tar.extractall(folder, filter="data")
    return folder


@pytest.mark.parametrize("name", ["mlp", "neumf-bias"])
def test_format_1_artifacts_load_and_score_as_before(format_1: Path, name: str) -> None:
    expected = json.loads((format_1 / "expected.json").read_text())[name]
    assert verify_artifact(format_1 / name)["format"] == 1
    art = load_artifact(format_1 / name)
    assert art.config.architecture == name.split("-")[0] and art.meta == {"model_version": 1}
    n_users, n_videos = art.data.n_users, art.data.n_videos
    users = np.repeat(np.arange(n_users), n_videos)
    videos = np.tile(np.arange(n_videos), n_users)
    np.testing.assert_allclose(score_pairs(art.model, users, videos), expected["scores"], atol=1e-6, rtol=0)
    np.testing.assert_allclose(video_embeddings(art.model), expected["video_vectors"], atol=1e-6, rtol=0)
    top = score_top_n(art.model, art.data, top_n=3)
    np.testing.assert_array_equal(top.video_index, expected["top_video_index"])
    np.testing.assert_array_equal(top.reason_index, expected["top_reason_index"])
