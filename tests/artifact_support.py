"""A model version's artifact folder without training: files whose checksums match a config.json
in the saved format, enough for the activation check (which never loads the model)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from django.conf import settings

from recommender.ml.artifact import CONFIG_FILE, DATA_FILE, FORMAT_VERSION, MODEL_FILE


def artifact_fake(version) -> Path:
    """Give ``version`` a checksum-consistent artifact folder under MODEL_DIR; returns the folder."""
    folder = Path(settings.MODEL_DIR) / f"v{version.pk}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    model = f"model of version {version.pk}".encode()
    data = f"data of version {version.pk}".encode()
    (folder / MODEL_FILE).write_bytes(model)
    (folder / DATA_FILE).write_bytes(data)
    record = {
        "format": FORMAT_VERSION,
        "config": {},
        "meta": {"model_version": version.pk},
        "model_sha256": hashlib.sha256(model).hexdigest(),
        "data_sha256": hashlib.sha256(data).hexdigest(),
    }
    (folder / CONFIG_FILE).write_text(json.dumps(record))
    version.artifact_path = str(folder)
    version.artifact_sha256 = record["model_sha256"]
    version.save(update_fields=["artifact_path", "artifact_sha256"])
    return folder
