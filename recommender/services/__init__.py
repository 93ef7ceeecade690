"""The recommender's writers: retraining, publishing and scheduling model versions.

``pipeline``    the retrain as named stages, from watch events to a version's rows
``publishing``  write rows, activate, prune, roll back
``scheduling``  retrain requests (Celery task or separate process), queued runs, the nudge
``sharding``    scoring user ranges here or on other workers
``recovery``    failing versions that were interrupted or never started
``artifacts``   saved models: folders, checked loads, pruning

The public names are re-exported here: ``from recommender.services import retrain``.
"""

from recommender.exceptions import (
    AlreadyRunning,
    ArtifactUnavailable,
    BrokerUnavailable,
    NoTrainingData,
    RetrainError,
)
from recommender.services.artifacts import artifact_directory_new, artifact_load, artifact_verify, artifacts_prune
from recommender.services.pipeline import ProgressCallback, retrain, train_config_build
from recommender.services.publishing import (
    ACTIVATABLE,
    recommendations_prune,
    recommendations_write,
    version_activate,
    version_rollback,
)
from recommender.services.recovery import versions_interrupted_fail, versions_queued_expire
from recommender.services.scheduling import (
    RetrainTicket,
    broker_configured,
    retrain_if_stale,
    retrain_nudge,
    retrain_queued_run,
    retrain_request,
    retrain_skip_reason,
    version_requeue,
)
from recommender.services.sharding import recommendations_shard_write, user_shards

__all__ = [
    "ACTIVATABLE",
    "AlreadyRunning",
    "ArtifactUnavailable",
    "BrokerUnavailable",
    "NoTrainingData",
    "ProgressCallback",
    "RetrainError",
    "RetrainTicket",
    "artifact_directory_new",
    "artifact_load",
    "artifact_verify",
    "artifacts_prune",
    "broker_configured",
    "recommendations_prune",
    "recommendations_shard_write",
    "recommendations_write",
    "retrain",
    "retrain_if_stale",
    "retrain_nudge",
    "retrain_queued_run",
    "retrain_request",
    "retrain_skip_reason",
    "train_config_build",
    "user_shards",
    "version_activate",
    "version_requeue",
    "version_rollback",
    "versions_interrupted_fail",
    "versions_queued_expire",
]
