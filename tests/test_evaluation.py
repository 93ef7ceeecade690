"""Every retrain records held-out metrics; `manage.py evaluate` shows them and measures newer watches."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from quality_support import START, watch_history  # noqa: F401  (fixture)

from recommender.models import ModelVersion
from recommender.services import retrain, train_config_build
from videos.models import Video, WatchEvent

RANKING_KEYS = {"hr_at_10", "ndcg_at_10", "n_ranked", "negatives", "baseline_popular_hr_at_10"}
RATING_KEYS = {"rmse", "mae", "n_rated", "baseline_mean_rmse", "baseline_bias_rmse", "baseline_bias_mae"}


@pytest.mark.django_db
def test_retrain_records_held_out_metrics_and_refits(watch_history, fast_config):  # noqa: F811
    users, videos = watch_history
    version = retrain(config=fast_config)
    m = version.metrics
    assert version.status == ModelVersion.Status.ACTIVE
    assert m["evaluation"] == "held_out" and m["refit"] is True
    assert RANKING_KEYS | RATING_KEYS <= set(m)
    assert m["n_ranked"] == len(users)  # everyone watched 4+ videos: each gives up the latest
    # 4..6 watches -> n = 3..5 left after the latest -> floor(0.1 * n + 0.5) = 0, 0, 1 rated
    assert m["n_rated"] == sum(1 for i in range(len(users)) if i % 3 == 2) == 4
    assert m["negatives"] == 99 or m["negatives"] <= len(videos)
    assert 0 <= m["ndcg_at_10"] <= m["hr_at_10"] <= 1
    assert m["scores_finite"] is True
    assert m["users_served_share"] == 1.0 and 0 < m["coverage_at_10"] <= 1
    # the published model is refit on everything for the evaluated epoch count, without a validation split
    assert m["epochs_run"] == m["evaluation_best_epoch"] == len(version.history)
    assert all(h["val_loss"] is None for h in version.history)
    assert "evaluate" in version.durations
    assert version.gate["passed"] is True and version.gate["compared_with"] is None


@pytest.mark.django_db
def test_refit_off_publishes_the_evaluated_model(watch_history, fast_config, settings):  # noqa: F811
    settings.RECOMMENDER_REFIT = False
    version = retrain(config=fast_config)
    assert version.metrics["refit"] is False
    assert version.metrics["epochs_run"] == version.metrics["evaluation_epochs_run"]
    assert version.status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_warm_refit_continues_the_evaluated_model(watch_history, fast_config, settings, monkeypatch):  # noqa: F811
    from recommender.ml import offline
    from recommender.ml import train as train_module

    settings.RECOMMENDER_REFIT_WARM_EPOCHS = 2
    starts = []
    real = train_module.train_model

    def spy(data, config, **kwargs):
        starts.append(kwargs.get("initial_weights"))
        result = real(data, config, **kwargs)
        if kwargs.get("initial_weights") is None:
            spy.evaluated = [w.copy() for w in result.model.get_weights()]
        return result

    monkeypatch.setattr(train_module, "train_model", spy)
    monkeypatch.setattr(offline, "train_model", spy)
    version = retrain(config=fast_config)
    m = version.metrics
    assert m["refit"] is True and m["refit_warm"] is True and m["refit_epochs"] == 2
    # the published model trained 2 epochs on every pair, starting from the evaluated model's weights
    assert len(version.history) == m["epochs_run"] == 2
    assert all(h["val_loss"] is None for h in version.history)
    assert len(starts) == 2 and starts[0] is None and starts[1] is not None
    assert all((a == b).all() for a, b in zip(starts[1], spy.evaluated, strict=True))
    assert version.status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_large_data_schedule_trains_on_a_budget_and_warm_refits(watch_history, fast_config, settings):  # noqa: F811
    # A threshold of 1 sample per epoch makes this small history "large".
    settings.RECOMMENDER_LARGE_DATA_SAMPLES = 1
    settings.RECOMMENDER_REFIT_WARM_EPOCHS = 0
    config = fast_config.replace(epochs=5)
    version = retrain(config=config)
    m = version.metrics
    assert version.status == ModelVersion.Status.ACTIVE
    # the budget (24M samples) is far above this data, so every configured epoch runs
    assert m["schedule"] == {
        "large_data": True,
        "batch_size": 512,
        "learning_rate": pytest.approx(0.004),
        "refit_warm_epochs": 1,
    }
    assert version.hyperparameters["batch_size"] == 512
    assert version.hyperparameters["learning_rate"] == pytest.approx(0.004)
    # the published model continues the evaluated one for one epoch, whatever the setting says
    assert m["refit_warm"] is True and m["refit_epochs"] == 1 and len(version.history) == 1


@pytest.mark.django_db
def test_medium_data_schedule_doubles_the_batch(watch_history, fast_config):  # noqa: F811
    # ~60 watched pairs x (1 + 4 negatives) per epoch: 64 steps of a doubled batch of 2 fit in it.
    config = fast_config.replace(batch_size=2, patience=3)
    version = retrain(config=config)
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.metrics["schedule"] == {
        "medium_data": True,
        "batch_size": 4,
        "learning_rate": pytest.approx(2 * config.learning_rate),
        "patience": 2,
    }
    assert version.hyperparameters["batch_size"] == 4 and version.hyperparameters["patience"] == 2
    assert "refit_warm" not in version.metrics or version.metrics["refit_warm"] is False


@pytest.mark.django_db
def test_small_data_keeps_the_configured_schedule(watch_history, fast_config):  # noqa: F811
    version = retrain(config=fast_config)
    assert "schedule" not in version.metrics
    assert version.hyperparameters["batch_size"] == fast_config.batch_size


@pytest.mark.django_db
def test_cold_refit_records_its_epochs(watch_history, fast_config, settings, monkeypatch):  # noqa: F811
    from recommender.ml import steps

    compiled = []
    real = steps.make_step_fn
    monkeypatch.setattr("recommender.ml.train.make_step_fn", lambda *a, **k: compiled.append(1) or real(*a, **k))
    settings.RECOMMENDER_REFIT_WARM_EPOCHS = 0
    version = retrain(config=fast_config)
    assert "refit_warm" not in version.metrics
    assert version.metrics["refit_epochs"] == version.metrics["evaluation_best_epoch"] == len(version.history)
    # The fresh published model trained in the evaluated one's compiled loop: built once per retrain.
    assert compiled == [1]


@pytest.mark.django_db
def test_evaluation_can_be_switched_off(watch_history, fast_config, settings):  # noqa: F811
    settings.RECOMMENDER_EVALUATE = False
    version = retrain(config=fast_config)
    assert version.metrics["evaluation"] == "skipped"
    assert "RECOMMENDER_EVALUATE" in version.metrics["evaluation_note"]
    assert "rmse" not in version.metrics and version.status == ModelVersion.Status.ACTIVE
    assert version.metrics["epochs_run"] == fast_config.epochs


@pytest.mark.django_db
def test_nothing_to_hold_out_skips_evaluation_but_publishes(make_user, fast_config):
    videos = [Video.objects.create(title=f"V{i}") for i in range(3)]
    for i in range(3):
        WatchEvent.objects.create(user=make_user(f"u{i}"), video=videos[i], completion=0.5)
    version = retrain(config=fast_config)
    assert version.metrics["evaluation"] == "skipped"
    assert "two or more" in version.metrics["evaluation_note"]
    assert version.status == ModelVersion.Status.ACTIVE


@pytest.mark.django_db
def test_default_configuration_comes_from_the_objective_preset(settings):
    settings.RECOMMENDER_OBJECTIVE = "expected_completion"
    ranking = train_config_build()
    assert (ranking.architecture, ranking.negatives) == ("neumf", 8)
    reference = train_config_build(objective="completion")
    assert (reference.architecture, reference.embedding_dim, reference.hidden_units) == ("mlp", 64, (64, 32))
    assert not reference.use_bias and reference.l2 == 0
    rating = train_config_build(preset="rating", epochs=3)
    assert rating.use_bias and rating.epochs == 3
    with pytest.raises(ValueError, match="preset"):
        train_config_build(preset="best")


@pytest.mark.django_db
def test_evaluate_command_table_and_json(watch_history, fast_config, capsys):  # noqa: F811
    version = retrain(config=fast_config)
    call_command("evaluate")
    out = capsys.readouterr().out
    assert f"Model version {version.pk} (active" in out
    assert "HR@10" in out and "NDCG@10" in out and "RMSE (completion)" in out and "most-popular" in out
    assert f"{version.metrics['ndcg_at_10']:.4f}" in out
    assert "no watch event was recorded after this version was trained" in out
    assert "Promotion gate: passed" in out

    call_command("evaluate", str(version.pk), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == version.pk and report["forward"] is None
    assert report["offline"]["ndcg_at_10"] == version.metrics["ndcg_at_10"]
    assert report["gate"]["passed"] is True


@pytest.mark.django_db
def test_evaluate_measures_watches_recorded_after_training(watch_history, fast_config, make_user, capsys):  # noqa: F811
    users, videos = watch_history
    retrain(config=fast_config)
    # viewer0 watched videos 0..3 and viewer1 videos 1..5: videos 6 and 7 are new to both
    later = START + timedelta(days=30)
    WatchEvent.objects.create(user=users[0], video=videos[6], completion=0.8, watched_at=later)
    WatchEvent.objects.create(user=users[0], video=videos[7], completion=0.4, watched_at=later + timedelta(1))
    WatchEvent.objects.create(user=users[1], video=videos[6], completion=0.6, watched_at=later)
    WatchEvent.objects.create(user=users[0], video=videos[0], completion=1.0)  # a pair it knew: ignored
    newcomer = make_user("newcomer")
    WatchEvent.objects.create(user=newcomer, video=videos[0], completion=1.0)  # unknown to the model

    call_command("evaluate", "--json")
    forward = json.loads(capsys.readouterr().out)["forward"]
    assert forward["new_events"] == 5
    assert forward["events_of_unknown_users_or_videos"] == 1
    assert forward["n_rated"] == 3  # (0, 6), (0, 7), (1, 6)
    assert forward["n_ranked"] == 2  # each viewer's latest new pair
    assert 0 <= forward["ndcg_at_10"] <= forward["hr_at_10"] <= 1 and forward["rmse"] > 0

    call_command("evaluate")
    out = capsys.readouterr().out
    assert "watched after event" in out


@pytest.mark.django_db
def test_evaluate_command_errors(watch_history, fast_config):  # noqa: F811
    with pytest.raises(CommandError, match="no active model version"):
        call_command("evaluate")
    with pytest.raises(CommandError, match="no model version 4242"):
        call_command("evaluate", "4242")
    failed = ModelVersion.objects.create(status=ModelVersion.Status.FAILED, objective="completion")
    call_command("evaluate", str(failed.pk))  # shows what is recorded, no model to measure


@pytest.mark.django_db
def test_metrics_show_in_the_admin(watch_history, fast_config, client, django_user_model):  # noqa: F811
    version = retrain(config=fast_config)
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
    client.force_login(admin)
    page = client.get("/admin/recommender/modelversion/").content.decode()
    assert "NDCG@10" in page and f"{version.metrics['ndcg_at_10']:.4f}" in page
    assert "passed" in page
    detail = client.get(f"/admin/recommender/modelversion/{version.pk}/change/").content.decode()
    assert "HR@10" in detail and "promotion gate" in detail.lower()


@pytest.mark.django_db
def test_too_few_viewers_skip_the_evaluation(settings, fast_config):
    from conftest import SEED_MATRIX
    from django.core.management import call_command

    from recommender.services import retrain

    settings.RECOMMENDER_EVAL_MIN_USERS = 20
    call_command("import_matrix", str(SEED_MATRIX))  # 9 viewers
    version = retrain(config=fast_config)
    assert version.metrics["evaluation"] == "skipped"
    assert "too few viewers" in version.metrics["evaluation_note"]
    assert version.status == "active"


@pytest.mark.django_db
def test_a_bad_candidate_share_fails_the_retrain_with_one_readable_line(watch_history, fast_config, settings):  # noqa: F811
    from recommender.exceptions import RetrainError

    active = retrain(config=fast_config)
    settings.RECOMMENDER_CANDIDATES_FROM_VIDEOS = 1  # retrieve on this small catalogue too
    settings.RECOMMENDER_CANDIDATE_SHARE = 0.0
    with pytest.raises(RetrainError, match="RECOMMENDER_CANDIDATE_SHARE must be in"):
        retrain(config=fast_config)
    failed = ModelVersion.objects.exclude(pk=active.pk).get()
    assert failed.status == ModelVersion.Status.FAILED and "RECOMMENDER_CANDIDATE_SHARE" in failed.error
    assert not failed.recommendations.exists()
    active.refresh_from_db()
    assert active.status == ModelVersion.Status.ACTIVE  # what was published stays


@pytest.mark.django_db
def test_candidate_retrieval_publishes_unwatched_picks(watch_history, fast_config, settings):  # noqa: F811
    settings.RECOMMENDER_CANDIDATES_FROM_VIDEOS = 1
    settings.RECOMMENDER_CANDIDATE_SHARE = 0.5
    version = retrain(config=fast_config)
    assert version.status == ModelVersion.Status.ACTIVE and version.n_recommendations > 0
    watched = set(WatchEvent.objects.values_list("user_id", "video_id"))
    assert not watched & set(version.recommendations.values_list("user_id", "video_id"))
