"""The viewer-facing "match" figure: the raw model score mapped to observed completion.

The raw score of the ``expected_completion`` objective is a chance of starting times completion,
small by design, and another objective's score means something else again. A viewer is shown
instead the *match*: the share of a video that viewers with picks of that score actually watched,
learnt at retrain on held-out watches (pairs the evaluated model never saw) with a monotone
(isotonic) fit, stored on the model version as ``metrics["calibration"]`` (``{"x": [...],
"y": [...], "n": pairs}``: breakpoints of a non-decreasing step-linear map) and applied at serving.
No calibration (evaluation skipped, too few held-out watches): no figure (``None``).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np

MIN_PAIRS = 50
MAX_POINTS = 64


def calibration_fit(scores: Any, completions: Any) -> dict[str, Any] | None:
    """An isotonic map from raw score to observed completion, or ``None`` with too few pairs."""
    from sklearn.isotonic import IsotonicRegression

    x = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(completions, dtype=np.float64).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], np.clip(y[keep], 0.0, 1.0)
    if len(x) < MIN_PAIRS or np.ptp(x) == 0:
        return None
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
    grid = np.unique(np.quantile(x, np.linspace(0, 1, MAX_POINTS)))
    values = np.maximum.accumulate(model.predict(grid))
    return {"x": [round(float(v), 6) for v in grid], "y": [round(float(v), 4) for v in values], "n": len(x)}


def match_of(calibration: dict[str, Any] | None, score: float | None) -> float | None:
    """The calibrated figure (0..1) of a raw ``score``, to four decimals (as every surface shows and
    sends it); ``None`` without a calibration."""
    if not calibration or score is None:
        return None
    xs, ys = calibration.get("x") or [], calibration.get("y") or []
    if not xs or len(xs) != len(ys):
        return None
    if score <= xs[0]:
        figure = float(ys[0])
    elif score >= xs[-1]:
        figure = float(ys[-1])
    else:
        i = bisect_right(xs, score)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        figure = float(y0 + (y1 - y0) * (score - x0) / (x1 - x0)) if x1 > x0 else float(y1)
    return round(figure, 4)


def calibration_table(scores: Any, completions: Any, calibration: dict[str, Any], bins: int = 10) -> list[dict]:
    """Observed completion by decile of the figure (for ``bench/calibration.py``)."""
    x = np.asarray(scores, dtype=np.float64)
    y = np.asarray(completions, dtype=np.float64)
    figure = np.array([match_of(calibration, float(s)) for s in x])
    order = np.argsort(figure, kind="stable")
    rows = []
    for i, part in enumerate(np.array_split(order, bins), start=1):
        if len(part):
            rows.append(
                {
                    "decile": i,
                    "pairs": len(part),
                    "figure_mean": round(float(figure[part].mean()), 4),
                    "observed_completion": round(float(y[part].mean()), 4),
                    "raw_score_mean": round(float(x[part].mean()), 4),
                }
            )
    return rows


def held_out_calibration(model: Any, split: Any, config: Any = None) -> dict[str, Any] | None:
    """The calibration of a retrain: the evaluated model (trained without ``split``'s held-out pairs)
    scores the randomly held-out watches, and their observed completion is fitted. ``config``: what
    trained ``model``; its ``recent_boost`` is part of the scores the feeds show, so of the fit too.
    Imports the scorer (numpy only); called from the retrain's evaluation stage."""
    from recommender.ml.recent import recent_affinity
    from recommender.ml.score import score_pairs

    users = np.asarray(split.rated_user)
    if len(users) < MIN_PAIRS:
        return None
    affinity = None if config is None else recent_affinity(model, split.train, config)
    scores = score_pairs(model, users, np.asarray(split.rated_video), affinity=affinity)
    return calibration_fit(scores, split.rated_value)
