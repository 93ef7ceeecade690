"""Helpers shared by the benchmark scripts (no Django): fast MovieLens readers and
process figures.  MovieLens is read from where the user keeps it, never copied."""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from recommender.ml.data import InteractionMatrix, pivot  # noqa: E402
from recommender.ml.evaluate import pair_last_seen  # noqa: E402


@dataclass(frozen=True)
class Ratings:
    """One ratings file as parallel arrays; ``completion`` = rating / max rating."""

    user: np.ndarray
    item: np.ndarray
    completion: np.ndarray
    time: np.ndarray

    def matrix(self) -> InteractionMatrix:
        return pivot(self.user, self.item, self.completion)

    def last_seen(self, data: InteractionMatrix) -> np.ndarray:
        return pair_last_seen(data, self.user, self.item, self.time)


def read_ratings(folder: str | Path, name: str | None = None) -> Ratings:
    """``u.data`` / ``u1.base`` ... of MovieLens 100K (tab-separated) or ``ratings.csv``
    of ml-latest-small, as :class:`Ratings`."""
    folder = Path(folder)
    if name is None:
        name = "u.data" if (folder / "u.data").exists() else "ratings.csv"
    path = folder / name
    if not path.exists():
        raise SystemExit(f"{path} not found: --dataset must be a MovieLens 100K or ml-latest-small folder")
    if path.suffix == ".csv":
        raw = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    else:
        raw = np.loadtxt(path, dtype=np.float64)
    return Ratings(
        user=raw[:, 0].astype(np.int64),
        item=raw[:, 1].astype(np.int64),
        completion=(raw[:, 2] / 5.0).astype(np.float64),
        time=raw[:, 3],
    )


def fold_pair(folder: str | Path, fold: int) -> tuple[Ratings, Ratings]:
    """``u<fold>.base`` and ``u<fold>.test`` of MovieLens 100K."""
    return read_ratings(folder, f"u{fold}.base"), read_ratings(folder, f"u{fold}.test")


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bias_fallback(data: InteractionMatrix, test: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """The bias baseline's prediction for every test rating, and which test ratings a model
    can score (user and movie both in ``data``).  A model cannot score a movie or user it
    never saw (the published folds have a few dozen such ratings); those keep the baseline's
    prediction, for every model alike, so all are scored on every test rating."""
    from recommender.ml.evaluate import BiasBaseline

    bias = BiasBaseline.fit(data)
    u_known = np.isin(test.user, data.user_ids)
    v_known = np.isin(test.item, data.video_ids)
    pred = np.full(len(test.user), bias.mean)
    pred[u_known] += bias.user_bias[data.user_indices(test.user[u_known])]
    pred[v_known] += bias.video_bias[data.video_indices(test.item[v_known])]
    return np.clip(pred, 0.0, 1.0), u_known & v_known


def predict_test(data: InteractionMatrix, test: Ratings, score_fn) -> np.ndarray:
    """``score_fn(user_idx, video_idx)`` for the scorable test ratings, the bias baseline for the rest."""
    pred, known = bias_fallback(data, test)
    pred[known] = score_fn(data.user_indices(test.user[known]), data.video_indices(test.item[known]))
    return pred


def fold_rmse(folder: str | Path, fold: int, config, *, refit: bool = True) -> dict:
    """Train ``config`` on ``u<fold>.base`` and measure RMSE / MAE in stars on ``u<fold>.test``.

    Early stopping uses train_model's validation share of the *base* file; with ``refit``
    the model is then trained again on the whole base file for the best epoch count (as the
    product does after its evaluation).  See :func:`bias_fallback` for unseen users / movies.
    """
    from recommender.ml.evaluate import mae, rmse
    from recommender.ml.score import score_pairs
    from recommender.ml.train import train_model

    base, test = fold_pair(folder, fold)
    data = base.matrix()
    pred_bias, known = bias_fallback(data, test)
    started = time.perf_counter()
    result = train_model(data, config)
    epochs = result.epochs_run
    if refit:
        result = train_model(data, config.replace(epochs=max(1, result.best_epoch), validation_fraction=0.0))
    seconds = time.perf_counter() - started
    model = result.model
    pred = predict_test(data, test, lambda u, v: score_pairs(model, u, v))
    return {
        "fold": fold,
        "rmse_stars": round(rmse(pred, test.completion) * 5, 4),
        "mae_stars": round(mae(pred, test.completion) * 5, 4),
        "bias_rmse_stars": round(rmse(pred_bias, test.completion) * 5, 4),
        "bias_mae_stars": round(mae(pred_bias, test.completion) * 5, 4),
        "test_ratings": len(test.user),
        "cold_ratings": int((~known).sum()),
        "epochs": epochs,
        "refit_epochs": result.epochs_run if refit else None,
        "seconds": round(seconds, 2),
    }


def leave_one_out(folder: str | Path, config, *, negatives: int = 99, ties: str = "recorded") -> dict:
    """The NCF paper's protocol on the full ratings file: every user's latest rating is held
    out and ranked against ``negatives`` sampled movies the user never rated; the model is
    trained on everything else (early stopping on a validation share of that).

    ``ties``: which of several ratings with the user's latest timestamp is held out --
    ``"recorded"`` the one recorded last (file order, as the product does with event ids),
    ``"movie_id"`` the one with the highest movie id (newer, rarer movies: a harder task)."""
    from recommender.ml.evaluate import pair_last_seen
    from recommender.ml.offline import offline_evaluate

    ratings = read_ratings(folder)
    data = ratings.matrix()
    if ties == "recorded":
        seen = ratings.last_seen(data)
    elif ties == "movie_id":
        order = np.argsort(ratings.item, kind="stable")
        seen = pair_last_seen(data, ratings.user[order], ratings.item[order], ratings.time[order])
    else:
        raise ValueError(f"ties must be 'recorded' or 'movie_id', got {ties!r}")
    started = time.perf_counter()
    evaluation = offline_evaluate(data, seen, config, holdout_fraction=0.0, negatives=negatives)
    m = evaluation.metrics
    return {
        "hr_at_10": round(m["hr_at_10"], 4),
        "ndcg_at_10": round(m["ndcg_at_10"], 4),
        "popular_hr_at_10": round(m["baseline_popular_hr_at_10"], 4),
        "popular_ndcg_at_10": round(m["baseline_popular_ndcg_at_10"], 4),
        "users": m["n_ranked"],
        "negatives": m["negatives"],
        "ties": ties,
        "epochs": m["epochs_run"],
        "seconds": round(time.perf_counter() - started, 2),
    }
