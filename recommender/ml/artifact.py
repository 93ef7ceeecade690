"""Saving and loading a trained model together with its data and configuration.

Layout of an artifact directory::

    model.keras   the Keras model (weights + architecture)
    data.npz      id maps + CSR parts of the interaction matrix (no pickles)
    config.json   {"format", "architecture", "config", "meta", "model_sha256", "data_sha256", ...}

Formats: 2 records the name of the architecture that built the model, and loading checks that the
model is that architecture's; 1 (written before architectures were registered by name) has no such
record -- the model's own name says which architecture built it, as it does in format 2.  Both load.

The directory is published atomically: everything is written and fsync'ed in a
hidden temporary sibling directory which is then renamed into place, so a reader
sees either no artifact or a complete one.  An existing target is never replaced.

Keras is imported only by :func:`save_artifact` and :func:`load_artifact`;
:func:`verify_artifact` checks the files against their checksums without it, so a
web process can vet an artifact without loading TensorFlow.
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
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.ml.config import TrainConfig
from recommender.ml.data import InteractionMatrix

if TYPE_CHECKING:
    import keras

FORMAT_VERSION = 2
# Formats this code reads (see the module docstring).
READABLE_FORMATS = (1, 2)
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
    ``FileExistsError`` if ``directory`` exists and ``ValueError`` if ``model`` is not of
    ``config.architecture``; on any failure nothing is left behind (the temporary directory
    is removed).
    """
    target = Path(directory)
    if target.exists():
        raise FileExistsError(f"artifact directory already exists: {target}")
    from recommender.ml.architectures import architecture_name_of

    built_by = architecture_name_of(model)
    if built_by != config.architecture:
        raise ValueError(
            f"the model was built by architecture {built_by!r}, the configuration names {config.architecture!r}"
        )
    meta = dict(meta or {})
    record: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "architecture": built_by,
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
        # When each pair was last watched travels too: scoring from the artifact (shards, the
        # forward evaluation) ranks with the viewers' latest watches as the retrain did.
        seen: dict[str, Any] = {} if data.seen is None else {"seen": np.asarray(data.seen)}
        with open(tmp / DATA_FILE, "wb") as f:
            np.savez(
                f,
                user_ids=data.user_ids,
                video_ids=data.video_ids,
                indptr=m.indptr,
                indices=m.indices,
                values=m.data,
                shape=np.asarray(m.shape, dtype=np.int64),
                **seen,
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


def verify_artifact(directory: str | Path, *, model_sha256: str | None = None) -> dict:
    """Check an artifact's files against the checksums recorded when it was saved (and the model's
    against ``model_sha256`` when given, e.g. the one the database recorded) without loading it.

    Returns the parsed ``config.json`` record. Raises ``FileNotFoundError`` when the directory or a
    file is missing and :class:`ArtifactIntegrityError` (one-line message) when anything does not
    match.
    """
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(f"artifact directory {path} does not exist")
    try:
        with open(path / CONFIG_FILE, encoding="utf-8") as f:
            record = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactIntegrityError(f"{path / CONFIG_FILE}: not a readable artifact record ({exc})") from None
    if not isinstance(record, dict) or record.get("format") not in READABLE_FORMATS:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise ArtifactIntegrityError(f"{path}: unsupported artifact format {found!r}")
    if model_sha256 and record.get("model_sha256") != model_sha256:
        raise ArtifactIntegrityError(
            f"{path}: the artifact records model SHA-256 {record.get('model_sha256')}, expected {model_sha256}; "
            "it belongs to another model version or was replaced"
        )
    for name, key in ((MODEL_FILE, "model_sha256"), (DATA_FILE, "data_sha256")):
        actual = _sha256(path / name)
        if actual != record.get(key):
            raise ArtifactIntegrityError(
                f"{path / name}: SHA-256 mismatch (expected {record.get(key)}, "
                f"got {actual}); the artifact is corrupt or was modified"
            )
    return record


def load_artifact(directory: str | Path, *, model_sha256: str | None = None) -> Artifact:
    """Load and verify an artifact written by :func:`save_artifact`.

    Raises ``FileNotFoundError`` if a file is missing and
    :class:`ArtifactIntegrityError` if ``model.keras`` or ``data.npz`` does not match
    its recorded SHA-256 (or ``model_sha256``), or the pieces do not fit together.
    """
    import keras

    from recommender.ml.architectures import architecture_name_of, forward_of

    path = Path(directory)
    record = verify_artifact(path, model_sha256=model_sha256)
    config = TrainConfig.from_dict(record["config"])
    with np.load(path / DATA_FILE, allow_pickle=False) as z:
        shape = tuple(int(x) for x in z["shape"])
        matrix = sp.csr_matrix((z["values"], z["indices"], z["indptr"]), shape=shape)
        seen = z["seen"] if "seen" in z.files else None  # artifacts saved before it was kept: None
        data = InteractionMatrix(matrix=matrix, user_ids=z["user_ids"], video_ids=z["video_ids"], seen=seen)
    from recommender.ml.architectures.bags import register

    register()  # the bag layer of models that pool watched videos or video features
    model = keras.saving.load_model(path / MODEL_FILE, compile=False)
    try:
        built_by = architecture_name_of(model)
        net = forward_of(model)
    except ValueError as exc:
        raise ArtifactIntegrityError(f"{path}: {exc}") from None
    recorded = record.get("architecture", built_by)  # format 1 has no record of it
    if recorded != built_by or config.architecture != built_by:
        raise ArtifactIntegrityError(
            f"{path}: the model was built by architecture {built_by!r} but the artifact records "
            f"{recorded!r} (configuration: {config.architecture!r})"
        )
    if (net.n_users, net.n_videos) != (data.n_users, data.n_videos):
        raise ArtifactIntegrityError(
            f"{path}: model is for {net.n_users}x{net.n_videos} but data is {data.n_users}x{data.n_videos}"
        )
    return Artifact(model=model, data=data, config=config, meta=record.get("meta", {}))
