"""The ML core stays free of Django, and the light modules free of TensorFlow."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ML = REPO / "recommender" / "ml"

CHECK = """
import sys
import recommender.ml, recommender.ml.config, recommender.ml.data, recommender.ml.holdout, recommender.ml.metrics
import recommender.ml.architectures
heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]
assert not heavy, f'light modules imported {heavy[:5]}'
import recommender.ml.train, recommender.ml.score, recommender.ml.artifact
web = [m for m in sys.modules
       if m.split('.')[0] in ('django', 'rest_framework', 'celery')]
assert not web, f'ML core imported {web[:5]}'
print('ok')
"""


def test_import_isolation_in_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


def test_no_web_framework_imports_in_source() -> None:
    banned = {"django", "rest_framework", "celery"}
    offenders = []
    for path in sorted(ML.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in banned]
    assert offenders == []
