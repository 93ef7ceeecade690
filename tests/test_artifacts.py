"""Saved models: activation and rollback check them, commands that load them fail in one line,
folders of pruned and failed versions are deleted, folder names never collide across databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import token_client
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from quality_support import watch_history  # noqa: F401  (fixture)

from recommender import inspection
from recommender.exceptions import ArtifactUnavailable, RetrainError
from recommender.models import ModelVersion
from recommender.services import artifacts_prune, retrain, sharding, version_activate, version_rollback


@pytest.fixture
def two_versions(watch_history, fast_config):  # noqa: F811
    """Version 1 retired, version 2 active, both with their saved models."""
    first = retrain(config=fast_config.replace(seed=1))
    second = retrain(config=fast_config.replace(seed=2))
    first.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")
    return first, second


def _break(version: ModelVersion, how: str) -> None:
    folder = Path(version.artifact_path)
    if how == "deleted":
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    else:  # a flipped byte in the weights
        model = folder / "model.keras"
        raw = bytearray(model.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        model.write_bytes(bytes(raw))


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text.strip() and "Traceback" not in text, text
    return text


@pytest.mark.django_db
@pytest.mark.parametrize(("how", "word"), [("deleted", "missing"), ("corrupt", "corrupt")])
def test_activation_and_rollback_refuse_a_broken_artifact(two_versions, how, word):
    first, second = two_versions
    _break(first, how)
    with pytest.raises(ArtifactUnavailable, match=rf"Model version {first.pk}'s saved model is {word}"):
        version_activate(version=first)
    with pytest.raises(RetrainError, match=word):
        version_rollback()
    with pytest.raises(CommandError) as raised:
        call_command("rollback", str(first.pk))
    assert word in _one_line(raised.value)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")  # nothing changed


@pytest.mark.django_db
def test_api_activate_answers_409_json_for_a_broken_artifact(two_versions):
    first, second = two_versions
    _break(first, "corrupt")
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
    response = token_client(staff).post(f"/api/models/{first.pk}/activate/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict" and "saved model is corrupt" in _one_line(body["detail"])
    assert ModelVersion.objects.get(status="active") == second


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["deleted", "corrupt"])
def test_commands_that_load_the_model_fail_in_one_line(two_versions, how):
    _, second = two_versions
    _break(second, how)
    with pytest.raises(CommandError) as raised:
        call_command("predict_matrix")
    assert f"Model version {second.pk}" in _one_line(raised.value)

    # evaluate loads the model only when events arrived after it was trained
    from videos.models import WatchEvent

    some = WatchEvent.objects.first()
    WatchEvent.objects.create(user=some.user, video=some.video, completion=0.3)
    with pytest.raises(CommandError) as raised:
        call_command("evaluate")
    assert str(second.pk) in _one_line(raised.value)


@pytest.mark.django_db
def test_a_version_without_a_saved_model_cannot_be_activated(two_versions):
    first, _ = two_versions
    ModelVersion.objects.filter(pk=first.pk).update(artifact_path="")
    with pytest.raises(ArtifactUnavailable, match="has no saved model"):
        version_activate(version=first)


@pytest.mark.django_db
def test_old_folder_names_still_load(two_versions):
    first, second = two_versions
    old_style = Path(second.artifact_path).with_name(f"v{second.pk}")
    Path(second.artifact_path).rename(old_style)
    ModelVersion.objects.filter(pk=second.pk).update(artifact_path=str(old_style))
    assert inspection.predicted_matrix().version.pk == second.pk
    assert version_rollback(version=first).pk == first.pk
    assert version_rollback(version=ModelVersion.objects.get(pk=second.pk)).pk == second.pk


@pytest.mark.django_db
def test_folders_of_pruned_and_failed_versions_are_deleted(watch_history, fast_config, settings, monkeypatch):  # noqa: F811
    settings.RECOMMENDATION_VERSIONS_KEPT = 1
    versions = [retrain(config=fast_config.replace(seed=s)) for s in (1, 2, 3)]
    for v in versions:
        v.refresh_from_db()
    one, two, three = versions
    assert one.metrics.get("recommendations_pruned") and one.artifact_path == ""
    assert not any(p.name.startswith(f"v{one.pk}-") for p in Path(settings.MODEL_DIR).iterdir())
    assert Path(two.artifact_path).is_dir() and Path(three.artifact_path).is_dir()  # kept rows, active

    # A retrain that fails after saving its model leaves no folder behind.
    def boom(*args, **kwargs):
        raise RuntimeError("scoring exploded")

    monkeypatch.setattr(sharding, "score_and_write", boom)
    with pytest.raises(RetrainError, match="scoring exploded"):
        retrain(config=fast_config.replace(seed=4))
    failed = ModelVersion.objects.get(status="failed")
    assert failed.artifact_path == ""
    folders = {p.name for p in Path(settings.MODEL_DIR).iterdir() if not p.name.startswith(".")}
    assert folders == {Path(two.artifact_path).name, Path(three.artifact_path).name}


@pytest.mark.django_db
def test_folders_another_site_keeps_in_model_dir_are_left_alone(two_versions, settings):
    foreign = Path(settings.MODEL_DIR) / "v1-0badc0de"
    foreign.mkdir()
    (foreign / "model.keras").write_bytes(b"another site's model")
    ModelVersion.objects.filter(pk=two_versions[0].pk).update(status="failed")
    assert artifacts_prune() == 1
    assert foreign.is_dir() and not Path(two_versions[0].artifact_path).exists()


@pytest.mark.django_db
def test_a_fresh_database_with_an_existing_model_dir_retrains(watch_history, fast_config, settings):  # noqa: F811
    """A reset or restored database numbers its versions from 1 again; the folders of the old one stay."""
    model_dir = Path(settings.MODEL_DIR)
    for name in ("v1", "v2", "v1-0000aaaa"):
        (model_dir / name).mkdir(parents=True)
        (model_dir / name / "model.keras").write_bytes(b"from the previous database")
    version = retrain(config=fast_config)
    assert version.status == "active"
    folder = Path(version.artifact_path)
    assert folder.parent == model_dir and folder.name.startswith(f"v{version.pk}-") and folder.is_dir()
    assert (model_dir / "v1" / "model.keras").read_bytes() == b"from the previous database"
