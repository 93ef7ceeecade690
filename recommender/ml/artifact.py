"""Saving and loading a trained model together with its data and configuration.

Layout of an artifact directory::

    model.keras   the Keras model (weights + architecture)
    data.npz      id maps + CSR parts of the interaction matrix (no pickles)
    config.json   {"format", "config", "meta", "model_sha256", "data_sha256", ...}

The directory is published atomically: everything is written and fsync'ed in a
hidden temporary sibling directory which is then renamed into place, so a reader
sees either no artifact or a complete one.  An existing target is never replaced.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np
import scipy.sparse as sp

from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix
from recommender.ml.score import _extract

FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
DATA_FILE = "data.npz"
CONFIG_FILE = "config.json"


class ArtifactIntegrityError(ValueError):
    """An artifact file does not match the checksum recorded when it was saved."""


@dataclass
class Artifact:
    """A loaded artifact.  ``model`` is loaded uncompiled (inference only)."""

    model: keras.Model
    data: InteractionMatrix
    config: TrainConfig
    meta: dict = field(default_factory=dict)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    # Directories are fsync'ed through an O_RDONLY descriptor (POSIX).
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_artifact(
    directory: str | Path,
    *,
    model: keras.Model,
    data: InteractionMatrix,
    config: TrainConfig,
    meta: dict | None = None,
) -> tuple[Path, str]:
    """Write a new artifact at ``directory`` atomically.

    Returns ``(path, sha256 hex digest of model.keras)``.  Raises
    ``FileExistsError`` if ``directory`` exists; on any failure nothing is left
    behind (the temporary directory is removed).
    """
    target = Path(directory)
    if target.exists():
        raise FileExistsError(f"artifact directory already exists: {target}")
    meta = dict(meta or {})
    record: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "config": config.to_dict(),
        "meta": meta,
        "n_users": data.n_users,
        "n_videos": data.n_videos,
        "n_interactions": data.n_interactions,
    }
    json.dumps(record)  # fail early (TypeError) on a meta that is not JSON-able

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        model.save(tmp / MODEL_FILE)
        m = data.matrix
        with open(tmp / DATA_FILE, "wb") as f:
            np.savez(
                f,
                user_ids=data.user_ids,
                video_ids=data.video_ids,
                indptr=m.indptr,
                indices=m.indices,
                values=m.data,
                shape=np.asarray(m.shape, dtype=np.int64),
            )
        record["model_sha256"] = _sha256(tmp / MODEL_FILE)
        record["data_sha256"] = _sha256(tmp / DATA_FILE)
        with open(tmp / CONFIG_FILE, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2, sort_keys=True)
        for name in (MODEL_FILE, DATA_FILE, CONFIG_FILE):
            _fsync_path(tmp / name)
        _fsync_path(tmp)
        # Re-check right before the rename: os.rename would silently replace an
        # *empty* directory that appeared meanwhile (a non-empty one makes it fail).
        if target.exists():
            raise FileExistsError(f"artifact directory already exists: {target}")
        try:
            os.rename(tmp, target)
        except OSError as exc:
            if target.exists():
                raise FileExistsError(f"artifact directory already exists: {target}") from exc
            raise
        _fsync_path(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target, record["model_sha256"]


def load_artifact(directory: str | Path) -> Artifact:
    """Load and verify an artifact written by :func:`save_artifact`.

    Raises ``FileNotFoundError`` if a file is missing and
    :class:`ArtifactIntegrityError` if ``model.keras`` or ``data.npz`` does not match
    its recorded SHA-256, or the pieces do not fit together.
    """
    path = Path(directory)
    with open(path / CONFIG_FILE, encoding="utf-8") as f:
        record = json.load(f)
    if record.get("format") != FORMAT_VERSION:
        raise ArtifactIntegrityError(f"{path}: unsupported artifact format {record.get('format')!r}")
    for name, key in ((MODEL_FILE, "model_sha256"), (DATA_FILE, "data_sha256")):
        actual = _sha256(path / name)
        if actual != record.get(key):
            raise ArtifactIntegrityError(
                f"{path / name}: SHA-256 mismatch (expected {record.get(key)}, "
                f"got {actual}); the artifact is corrupt or was modified"
            )
    config = TrainConfig.from_dict(record["config"])
    with np.load(path / DATA_FILE, allow_pickle=False) as z:
        shape = tuple(int(x) for x in z["shape"])
        matrix = sp.csr_matrix((z["values"], z["indices"], z["indptr"]), shape=shape)
        data = InteractionMatrix(matrix=matrix, user_ids=z["user_ids"], video_ids=z["video_ids"])
    model = keras.saving.load_model(path / MODEL_FILE, compile=False)
    net = _extract(model)
    if (net.n_users, net.n_videos) != (data.n_users, data.n_videos):
        raise ArtifactIntegrityError(
            f"{path}: model is for {net.n_users}x{net.n_videos} but data is {data.n_users}x{data.n_videos}"
        )
    return Artifact(model=model, data=data, config=config, meta=record.get("meta", {}))
