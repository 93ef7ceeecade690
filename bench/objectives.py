#!/usr/bin/env python
"""Which objective should a retrain use by default?  Every preset, measured both ways on MovieLens 100K:

* ranking -- the NCF paper's leave-one-out protocol on ``u.data`` (every user's latest rating
  held out, ranked against 99 never-rated movies): HR@10, NDCG@10;
* rating  -- trained on ``u1.base``, RMSE / MAE in stars on ``u1.test`` (early stopping on a
  validation share of the base file, then refit on all of it).

The recommendations page ranks unwatched videos, so the ranking figures decide the default; the
rating figures show what each objective is good at.  Prints one JSON object.

    .venv/bin/python bench/objectives.py --dataset ../shared/datasets/ml-100k --json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fold_rmse, leave_one_out, peak_rss_mb


def main(argv: list[str] | None = None) -> int:
    from recommender.ml.config import PRESETS, preset_config

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, help="MovieLens 100K folder (u.data, u1.base, u1.test).")
    parser.add_argument("--presets", default=",".join(PRESETS), help="Comma-separated presets (default: all).")
    parser.add_argument("--json", action="store_true", help="Compact JSON (default: indented).")
    args = parser.parse_args(argv)
    names = args.presets.split(",")
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; known: {', '.join(PRESETS)}")
    rows = []
    for name in names:
        config = preset_config(name)
        loo = leave_one_out(args.dataset, config)
        fold = fold_rmse(args.dataset, 1, config)
        rows.append(
            {
                "preset": name,
                "objective": config.objective,
                "architecture": config.architecture,
                "hr_at_10": loo["hr_at_10"],
                "ndcg_at_10": loo["ndcg_at_10"],
                "u1_rmse_stars": fold["rmse_stars"],
                "u1_mae_stars": fold["mae_stars"],
                "seconds": round(loo["seconds"] + fold["seconds"], 1),
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    baselines = {
        "popular_hr_at_10": loo["popular_hr_at_10"],
        "popular_ndcg_at_10": loo["popular_ndcg_at_10"],
        "u1_bias_rmse_stars": fold["bias_rmse_stars"],
    }
    result = {"presets": rows, "baselines": baselines, "peak_rss_mb": peak_rss_mb()}
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
