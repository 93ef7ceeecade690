"""Saved models of model versions: a fresh folder per version, checked loads, and pruning of the
folders that no version can use again.

Loading imports TensorFlow (through ``recommender.ml.artifact``), so it happens inside the
functions, never at import time.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q

from recommender.exceptions import ArtifactUnavailable
from recommender.models import ModelVersion

if TYPE_CHECKING:
    from recommender.ml.artifact import Artifact

logger = logging.getLogger(__name__)


def artifact_directory_new(version: ModelVersion) -> Path:
    """A fresh folder name for ``version``'s artifact: ``v{pk}-{random}``. The random part keeps a
    reset or restored database (whose ids start again) or a second site sharing MODEL_DIR from
    colliding with folders already there; the path is recorded on the version, so any name loads."""
    return Path(settings.MODEL_DIR) / f"v{version.pk}-{uuid.uuid4().hex[:8]}"


def artifact_verify(*, version: ModelVersion) -> None:
    """Check that ``version``'s saved model exists and matches the checksums recorded when it was
    saved (no TensorFlow needed); ``ArtifactUnavailable`` with one readable line otherwise."""
    from recommender.ml.artifact import verify_artifact

    _artifact_call(version, verify_artifact)


def artifact_load(*, version: ModelVersion) -> Artifact:
    """Load ``version``'s verified artifact (imports TensorFlow); ``ArtifactUnavailable`` with one
    readable line when it is missing, corrupt or cannot be loaded."""
    from recommender.ml.artifact import load_artifact

    return _artifact_call(version, load_artifact)


def _artifact_call(version: ModelVersion, function: Callable[..., Any]) -> Any:
    from recommender.ml.artifact import ArtifactIntegrityError

    if not version.artifact_path:
        raise ArtifactUnavailable(f"Model version {version.pk} has no saved model; retrain instead.", version)
    try:
        return function(version.artifact_path, model_sha256=version.artifact_sha256 or None)
    except FileNotFoundError:
        raise ArtifactUnavailable(
            f"Model version {version.pk}'s saved model is missing ({version.artifact_path}); retrain instead.",
            version,
        ) from None
    except (ArtifactIntegrityError, OSError) as exc:
        raise ArtifactUnavailable(
            f"Model version {version.pk}'s saved model is corrupt ({_one_line(exc)}); retrain instead.", version
        ) from None
    except Exception as exc:  # checksums match but Keras cannot read it (e.g. another Keras version)
        raise ArtifactUnavailable(
            f"Model version {version.pk}'s saved model cannot be loaded ({_one_line(exc)}); retrain instead.",
            version,
        ) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def artifacts_prune() -> int:
    """Delete the artifact folders of failed versions and of versions whose recommendations were
    pruned (neither can be activated again); returns how many folders were deleted.

    The active version's folder and those of versions that keep their rows stay. Only folders
    inside MODEL_DIR that a version of this database recorded are touched, so another site sharing
    the volume keeps its own.
    """
    root = Path(settings.MODEL_DIR).resolve()
    doomed = (
        ModelVersion.objects.exclude(artifact_path="")
        .exclude(status__in=[ModelVersion.Status.ACTIVE, ModelVersion.Status.RUNNING, ModelVersion.Status.QUEUED])
        .filter(Q(status=ModelVersion.Status.FAILED) | Q(metrics__recommendations_pruned=True))
    )
    deleted = 0
    for pk, path in doomed.values_list("pk", "artifact_path"):
        folder = Path(path).resolve()
        if folder.parent != root:
            logger.warning("Not deleting the artifact of model version %s outside MODEL_DIR: %s", pk, folder)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            logger.warning("Could not delete the artifact folder of model version %s: %s", pk, folder)
            continue
        ModelVersion.objects.filter(pk=pk).update(artifact_path="")
        deleted += 1
    if deleted:
        logger.info("Deleted %d artifact folder(s) of failed or pruned model versions.", deleted)
    return deleted
