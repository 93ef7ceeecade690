"""The product reproduces the reference program's result on its example matrix."""

import numpy as np
import pytest
from conftest import SEED_MATRIX
from django.core.management import call_command

from recommender import selectors
from recommender.inspection import predicted_matrix
from videos.models import WatchEvent


@pytest.mark.django_db
@pytest.mark.slow
def test_seed_matrix_parity(capsys):
    call_command("import_matrix", str(SEED_MATRIX))
    call_command("retrain", "--objective", "completion", "--epochs", "100", "--batch-size", "64", "--no-progress")
    result = predicted_matrix()
    predicted = result.values * 10

    observed = np.zeros_like(predicted)
    users = {name: i for i, name in enumerate(result.users)}
    videos = {title: j for j, title in enumerate(result.videos)}
    for username, title, completion in WatchEvent.objects.values_list("user__username", "video__title", "completion"):
        observed[users[username], videos[title]] = completion * 10
    mask = result.observed
    assert mask.sum() == 29
    mae = np.abs(predicted[mask] - observed[mask]).mean()
    assert mae <= 0.8, f"MAE on observed cells {mae:.3f} (1..10 scale)"

    # Every user is recommended only videos they did not watch.
    for event_user in {e.user for e in WatchEvent.objects.select_related("user")}:
        watched = set(WatchEvent.objects.filter(user=event_user).values_list("video_id", flat=True))
        recommended = set(selectors.recommendations_for_user(user=event_user).values_list("video_id", flat=True))
        assert recommended and not (recommended & watched)
        assert len(recommended) == 6 - len(watched)

    call_command("predict_matrix")
    table = capsys.readouterr().out
    assert "User1" in table and "Video 6" in table and "*" in table
    call_command("predict_matrix", "--format", "csv", "--scale", "1")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("user,Video 1") and len(lines) == 10


@pytest.mark.django_db
def test_predict_matrix_refuses_above_cap(settings, fast_config):
    from django.core.management import CommandError

    call_command("import_matrix", str(SEED_MATRIX))
    from recommender.services import retrain

    retrain(config=fast_config)
    settings.PREDICT_MATRIX_MAX_CELLS = 10
    with pytest.raises(CommandError, match="more than the limit of 10"):
        call_command("predict_matrix")


@pytest.mark.django_db
def test_predict_matrix_without_model():
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no active model"):
        call_command("predict_matrix")
