#!/usr/bin/env python
"""Candidate retrieval for large catalogues: recall of the full ranking, and the time it saves.

Loads a saved model (a version's folder under ``MODEL_DIR``, e.g. the one ``bench/retrain.py``
leaves in its work folder, named by the version's ``artifact_path``) and scores the top
``--top-n`` of ``--users`` viewers (evenly spread; default every viewer) twice per share: every
unwatched video with the full network, and only the ``--shares`` of the catalogue that the cheap
first-order score retrieves (``score_top_n(candidates=...)``, as ``RECOMMENDER_CANDIDATE_SHARE``
does in a retrain). Prints one JSON object: per share the candidates per viewer, the recall of the
full top N (share of it that the candidate ranking keeps), how often the first pick is the same,
the largest score difference on pairs both kept (the kept scores are the full network's) and the
seconds of each way.

    .venv/bin/python bench/candidates.py --artifact /tmp/bench-retrain-XXXX/models/v1-XXXX --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--artifact", required=True, help="A saved model's folder (model.keras, data.npz, ...).")
    parser.add_argument("--users", type=int, default=0, help="Viewers scored, evenly spread (0 = every viewer).")
    parser.add_argument("--top-n", type=int, default=50, help="Picks per viewer (RECOMMENDATIONS_TOP_N).")
    parser.add_argument(
        "--shares", type=float, nargs="+", default=[0.02, 0.05, 0.1], help="Candidate shares of the catalogue."
    )
    parser.add_argument("--json", action="store_true", help="Print compact JSON.")
    args = parser.parse_args(argv)
    if not Path(args.artifact).is_dir():
        parser.error(f"--artifact: {args.artifact} is not a folder")
    if args.users < 0 or args.top_n < 1 or not all(0 < s <= 1 for s in args.shares):
        parser.error("--users >= 0, --top-n >= 1 and shares in (0, 1] please")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from recommender.ml.artifact import load_artifact
    from recommender.ml.score import score_top_n

    artifact = load_artifact(args.artifact)
    data = artifact.data
    step = max(1, data.n_users // args.users) if args.users else 1
    users = np.arange(0, data.n_users, step, dtype=np.int64)
    started = time.perf_counter()
    full = score_top_n(artifact.model, data, top_n=args.top_n, user_indices=users)
    full_s = time.perf_counter() - started
    report: dict = {
        "artifact": str(args.artifact),
        "viewers": len(users),
        "videos": data.n_videos,
        "top_n": args.top_n,
        "full": {"pairs": int(len(users) * data.n_videos), "seconds": round(full_s, 2)},
        "shares": [],
    }
    for share in args.shares:
        candidates = max(int(np.ceil(share * data.n_videos)), args.top_n)
        started = time.perf_counter()
        top = score_top_n(artifact.model, data, top_n=args.top_n, user_indices=users, candidates=candidates)
        seconds = time.perf_counter() - started
        kept, same_first, worst = [], 0, 0.0
        for i in range(len(users)):
            ref = full.video_index[i][full.video_index[i] >= 0]
            got = top.video_index[i][top.video_index[i] >= 0]
            if len(ref):
                kept.append(len(np.intersect1d(ref, got)) / len(ref))
                same_first += int(len(got) > 0 and got[0] == ref[0])
            common, ia, ib = np.intersect1d(full.video_index[i], top.video_index[i], return_indices=True)
            ok = common >= 0
            if ok.any():
                worst = max(worst, float(np.abs(full.score[i, ia[ok]] - top.score[i, ib[ok]]).max()))
        report["shares"].append(
            {
                "share": share,
                "candidates_per_viewer": candidates,
                "recall_of_full_top_n": round(float(np.mean(kept)), 4) if kept else None,
                "same_first_pick": round(same_first / max(len(kept), 1), 4),
                "max_score_difference": worst,
                "seconds": round(seconds, 2),
                "time_saved": round(1 - seconds / full_s, 3) if full_s > 0 else None,
            }
        )
    print(json.dumps(report, indent=None if args.json else 2))
    return report


if __name__ == "__main__":
    main()
