#!/usr/bin/env python
"""Time the product's retrain on the example matrix against the reference program, in one run.

Prints one JSON object (seconds of wall time):
  reference_program             the published recipe, whole process (bench/reference_program.py)
  retrain_command               `manage.py retrain` (default settings), whole process incl. Django start
  retrain_command_seed_recipe   `manage.py retrain --objective completion --epochs 100 --batch-size 64`
  retrain_in_warm_process       retrain() called inside a process that already imported TensorFlow,
                                like a Celery worker (median of 3)

    .venv/bin/python bench/seed_retrain.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "fixtures" / "seed-matrix.csv"

WARM = """
import json, os, statistics, time
import django
django.setup()
import recommender.ml.train  # TensorFlow loaded, as in a running worker
from recommender.services import retrain
times = []
for _ in range(3):
    t = time.perf_counter()
    retrain(triggered_by="benchmark")
    times.append(time.perf_counter() - t)
print(json.dumps({"median": statistics.median(times), "all": times}))
"""


def _timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="Print compact JSON.")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-seed-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'seed.sqlite3'}",
        "MODEL_DIR": str(work / "models"),
        "DJANGO_SETTINGS_MODULE": "recsite.settings",
        # An offline run on a throwaway database: the development settings (and key) are fine.
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "import_matrix", str(SEED)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )

    result = {
        "reference_program": _timed([py, "bench/reference_program.py", str(SEED)], env),
        "retrain_command": _timed([py, "manage.py", "retrain", "--no-progress"], env),
        "retrain_command_seed_recipe": _timed(
            [
                py,
                "manage.py",
                "retrain",
                "--no-progress",
                "--objective",
                "completion",
                "--epochs",
                "100",
                "--batch-size",
                "64",
            ],
            env,
        ),
    }
    warm = subprocess.run([py, "-c", WARM], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    result["retrain_in_warm_process"] = json.loads(warm.stdout.strip().splitlines()[-1])["median"]
    result = {k: round(v, 2) for k, v in result.items()}
    result["ratio_command_to_reference"] = round(result["retrain_command"] / result["reference_program"], 3)
    result["cpu_count"] = os.cpu_count()
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
