"""Settings of model quality and scale: the held-out evaluation of every retrain, the refit, the
large-data schedule, candidate retrieval and the promotion gate. ``recsite.settings`` imports them
(after reading ``.env``, so the environment is complete when these are read)."""

import environ

from recommender.ml.schedule import LARGE_DATA_MIN_SAMPLES

env = environ.Env()

__all__ = [
    "RECOMMENDER_CANDIDATES_FROM_VIDEOS",
    "RECOMMENDER_CANDIDATE_SHARE",
    "RECOMMENDER_EVALUATE",
    "RECOMMENDER_EVAL_HOLDOUT_FRACTION",
    "RECOMMENDER_EVAL_MAX_USERS",
    "RECOMMENDER_EVAL_MIN_USERS",
    "RECOMMENDER_EVAL_NEGATIVES",
    "RECOMMENDER_GATE_METRIC",
    "RECOMMENDER_GATE_MIN_EVAL_USERS",
    "RECOMMENDER_GATE_MIN_USER_SHARE",
    "RECOMMENDER_GATE_TOLERANCE",
    "RECOMMENDER_LARGE_DATA_SAMPLES",
    "RECOMMENDER_REFIT",
    "RECOMMENDER_REFIT_WARM_EPOCHS",
]

# --- Model quality: evaluation and promotion gate ---------------------------------------------
# Every retrain holds out each viewer's latest watch (ranked against RECOMMENDER_EVAL_NEGATIVES
# videos they never watched: HR@10, NDCG@10) and a random RECOMMENDER_EVAL_HOLDOUT_FRACTION of
# their other watches (RMSE, MAE), trains on the rest and records the figures on the version.
RECOMMENDER_EVALUATE = env.bool("RECOMMENDER_EVALUATE", default=True)
# Below this many viewers a retrain skips the held-out evaluation (its figures would be noise).
RECOMMENDER_EVAL_MIN_USERS = env.int("RECOMMENDER_EVAL_MIN_USERS", default=20)
RECOMMENDER_EVAL_HOLDOUT_FRACTION = env.float("RECOMMENDER_EVAL_HOLDOUT_FRACTION", default=0.1)
RECOMMENDER_EVAL_NEGATIVES = env.int("RECOMMENDER_EVAL_NEGATIVES", default=99)
# At most this many viewers are ranked (a seeded sample), which bounds the cost on large data.
RECOMMENDER_EVAL_MAX_USERS = env.int("RECOMMENDER_EVAL_MAX_USERS", default=20_000)
# true: after the evaluation the published model is trained again on all watches (for the epochs
# the evaluated one needed); false: the evaluated model (which never saw the held-out watches) is
# published, one training instead of two.
RECOMMENDER_REFIT = env.bool("RECOMMENDER_REFIT", default=True)
# With the refit on: > 0 continues training the evaluated model on every watch for this many epochs
# (warm start); 0 trains a fresh model for as many epochs as the evaluated one needed.
RECOMMENDER_REFIT_WARM_EPOCHS = env.int("RECOMMENDER_REFIT_WARM_EPOCHS", default=0)
# Large data: at or above this many training samples per epoch (watched pairs x (1 + negatives)),
# a retrain trains on a fixed budget of samples with larger batches and a warm refit
# (recommender.ml.schedule.schedule_for; docs/benchmarks.md, "Scale"). 0 = never, and no
# medium-data schedule either: the configuration trains as it is at every size.
RECOMMENDER_LARGE_DATA_SAMPLES = env.int("RECOMMENDER_LARGE_DATA_SAMPLES", default=LARGE_DATA_MIN_SAMPLES)
# Large catalogues: from this many videos, the full network ranks only the share
# RECOMMENDER_CANDIDATE_SHARE of each viewer's videos (at least 4 x RECOMMENDATIONS_TOP_N) that a
# cheap first-order score retrieves (recommender.ml.score; recall in docs/benchmarks.md). 0 = never.
RECOMMENDER_CANDIDATES_FROM_VIDEOS = env.int("RECOMMENDER_CANDIDATES_FROM_VIDEOS", default=10_000)
RECOMMENDER_CANDIDATE_SHARE = env.float("RECOMMENDER_CANDIDATE_SHARE", default=0.05)
# Promotion gate: a new version replaces the active one only if its scores are finite, at least
# RECOMMENDER_GATE_MIN_USER_SHARE of its viewers got recommendations, and RECOMMENDER_GATE_METRIC
# (ndcg_at_10, hr_at_10, rmse or mae) is not worse than the active version's by more than
# RECOMMENDER_GATE_TOLERANCE (relative). The metric is compared only when both versions were
# evaluated on at least RECOMMENDER_GATE_MIN_EVAL_USERS viewers. Otherwise: status "rejected".
RECOMMENDER_GATE_METRIC = env("RECOMMENDER_GATE_METRIC", default="ndcg_at_10")
RECOMMENDER_GATE_TOLERANCE = env.float("RECOMMENDER_GATE_TOLERANCE", default=0.05)
RECOMMENDER_GATE_MIN_EVAL_USERS = env.int("RECOMMENDER_GATE_MIN_EVAL_USERS", default=100)
RECOMMENDER_GATE_MIN_USER_SHARE = env.float("RECOMMENDER_GATE_MIN_USER_SHARE", default=0.9)
