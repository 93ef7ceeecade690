"""The backup and restore procedure of docs/operations.md: pg_dump + an archive of MODEL_DIR, restored
into a fresh database and an emptied MODEL_DIR, serve the same recommendations."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest
from django.db import connection

from recommender import services
from recommender.models import ModelVersion
from videos.models import Category, Video, WatchEvent

from .conftest import ROOT

pytestmark = pytest.mark.integration

# Printed by a process that runs against a given database and MODEL_DIR: the active version, whether
# its saved model matches the recorded checksum, its rows, and each viewer's feed from the API.
SERVED = r"""
import json
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from recommender.ml.artifact import verify_artifact
from recommender.models import Recommendation
from recommender.selectors import active_version

version = active_version()
verify_artifact(version.artifact_path, model_sha256=version.artifact_sha256)
rows = list(
    Recommendation.objects.filter(version=version)
    .order_by("user_id", "rank")
    .values_list("user__username", "video__title", "rank", "score")
)
feeds = {}
for user in get_user_model().objects.order_by("username"):
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    response = client.get("/api/recommendations/")
    assert response.status_code == 200, response.content
    feeds[user.username] = response.json()
print(json.dumps({"version": version.pk, "sha256": version.artifact_sha256, "rows": rows, "feeds": feeds}))
"""


def pg_args(settings_dict: dict, name: str) -> tuple[list[str], dict[str, str]]:
    args = ["-h", settings_dict.get("HOST") or "127.0.0.1", "-p", str(settings_dict.get("PORT") or 5432)]
    args += ["-U", settings_dict["USER"], "-d", name]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return args, env


def database_url(settings_dict: dict, name: str) -> str:
    auth = settings_dict["USER"] + (f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}@{host}:{settings_dict.get('PORT') or 5432}/{name}"


def served(database: str, model_dir) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "recsite.settings",
        "DATABASE_URL": database,
        "MODEL_DIR": str(model_dir),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    env.pop("CACHE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SERVED], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def pg_tools():
    """pg_dump and pg_restore (Debian: postgresql-client, the server's major version or newer)."""
    missing = [tool for tool in ("pg_dump", "pg_restore") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not found (apt-get install postgresql-client)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def trained_site(require_postgres, pg_tools, make_user, fast_config):
    """Viewers with two tastes, their watches and an active trained version (committed data)."""
    cooking = Category.objects.create(name="Cooking")
    music = Category.objects.create(name="Music")
    videos = [Video.objects.create(title=f"Recipe {i}", category=cooking) for i in range(6)]
    videos += [Video.objects.create(title=f"Song {i}", category=music) for i in range(6)]
    for u in range(8):
        user = make_user(f"viewer{u}")
        liked = videos[:6] if u % 2 else videos[6:]
        for i, video in enumerate(liked[: 3 + u % 3]):
            WatchEvent.objects.create(user=user, video=video, completion=0.9 - i * 0.1)
        WatchEvent.objects.create(user=user, video=(videos[6:] if u % 2 else videos[:6])[u % 6], completion=0.1)
    version = services.retrain(config=fast_config)
    assert version.status == ModelVersion.Status.ACTIVE
    return version


def test_restore_serves_the_same_recommendations(trained_site, settings, tmp_path):
    original = connection.settings_dict
    source = original["NAME"]
    model_dir = settings.MODEL_DIR
    before = served(database_url(original, source), model_dir)
    assert before["version"] == trained_site.pk
    assert before["rows"], "the trained version published no recommendations"
    assert any(feed["results"] for feed in before["feeds"].values())

    # Back up: the database first (custom format), then MODEL_DIR.
    dump = tmp_path / "recommender.dump"
    args, pg_env = pg_args(original, source)
    subprocess.run(["pg_dump", *args, "--format=custom", "--file", str(dump)], env=pg_env, check=True, timeout=120)
    archive = tmp_path / "models.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(model_dir, arcname="models")

    # Disaster: the model files are gone. Restore them, and the database into a fresh one.
    shutil.rmtree(model_dir)
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir.parent, filter="data")
    restored = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{restored}"')
    try:
        args, pg_env = pg_args(original, restored)
        subprocess.run(
            ["pg_restore", *args, "--no-owner", "--exit-on-error", str(dump)], env=pg_env, check=True, timeout=120
        )
        after = served(database_url(original, restored), model_dir)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')

    assert after["version"] == before["version"]
    assert after["sha256"] == before["sha256"]
    assert after["rows"] == before["rows"]
    assert after["feeds"] == before["feeds"]
