"""Rollback: serve an earlier version again instantly, from the service, the command and the admin."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from quality_support import set_metric, watch_history  # noqa: F401  (fixture)

from recommender import selectors
from recommender.models import ModelVersion
from recommender.services import RetrainError, retrain, version_rollback

CHANGELIST = "/admin/recommender/modelversion/"


@pytest.fixture
def three_versions(watch_history, fast_config):  # noqa: F811
    """Versions 1, 2, 3 trained and activated in turn (3 is active)."""
    users, _ = watch_history
    versions = [retrain(config=fast_config.replace(seed=seed)) for seed in (1, 2, 3)]
    for v in versions:
        v.refresh_from_db()
    return users, versions


def _status(version) -> str:
    version.refresh_from_db()
    return version.status


def _served_version(user) -> int:
    return {r.version_id for r in selectors.recommendations_for_user(user=user)}.pop()


@pytest.mark.django_db
def test_rollback_walks_back_through_previously_active_versions(three_versions):
    users, (one, two, three) = three_versions
    assert _served_version(users[0]) == three.pk
    assert version_rollback().pk == two.pk
    assert (_status(one), _status(two), _status(three)) == ("retired", "active", "retired")
    assert _served_version(users[0]) == two.pk  # instantly: the stored rows of version 2
    assert version_rollback().pk == one.pk
    with pytest.raises(RetrainError, match=rf"no earlier version to roll back to \(version {one.pk} is active\)"):
        version_rollback()
    # a named version goes forward again
    assert version_rollback(version=three).pk == three.pk
    assert ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).get() == three
    with pytest.raises(RetrainError, match="already active"):
        version_rollback(version=three)


@pytest.mark.django_db
def test_rollback_skips_versions_that_were_never_served(watch_history, fast_config, settings):  # noqa: F811
    settings.RECOMMENDER_GATE_MIN_EVAL_USERS = 1
    first = retrain(config=fast_config)
    set_metric(first, ndcg_at_10=0.99)
    rejected = retrain(config=fast_config)
    assert rejected.status == ModelVersion.Status.REJECTED
    with pytest.raises(RetrainError, match="no earlier version"):
        version_rollback()  # the rejected one was never active
    # but an operator may choose it by name: its rows were written
    assert version_rollback(version=rejected).status == ModelVersion.Status.ACTIVE
    assert _status(first) == "retired"


@pytest.mark.django_db
def test_rollback_refuses_failed_versions_and_empty_history(db):
    with pytest.raises(RetrainError, match=r"no earlier version to roll back to\.$"):
        version_rollback()
    failed = ModelVersion.objects.create(status=ModelVersion.Status.FAILED, objective="completion")
    with pytest.raises(RetrainError, match="only a version that finished training can be activated"):
        version_rollback(version=failed)


@pytest.mark.django_db
def test_rollback_command(three_versions, capsys):
    _, (_, two, three) = three_versions
    call_command("rollback")
    assert f"Model version {two.pk} is now active (was version {three.pk})" in capsys.readouterr().out
    call_command("rollback", str(three.pk))
    assert f"Model version {three.pk} is now active (was version {two.pk})" in capsys.readouterr().out
    with pytest.raises(CommandError, match="There is no model version 999"):
        call_command("rollback", "999")
    with pytest.raises(CommandError, match="already active"):
        call_command("rollback", str(three.pk))


@pytest.fixture
def admin_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "a-long-password-123")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_admin_activate_action_and_rollback_button(three_versions, admin_client):
    _, (one, two, three) = three_versions
    page = admin_client.get(CHANGELIST).content.decode()
    assert "activate_selected" in page and "Roll back to the previous version" in page

    response = admin_client.post(
        CHANGELIST, {"action": "activate_selected", "_selected_action": [str(one.pk)]}, follow=True
    )
    assert f"Model version {one.pk} is now active" in response.content.decode()
    assert _status(one) == "active" and _status(three) == "retired"

    response = admin_client.post(
        CHANGELIST, {"action": "activate_selected", "_selected_action": [str(one.pk), str(two.pk)]}, follow=True
    )
    assert "Select exactly one version" in response.content.decode()
    assert _status(one) == "active"

    admin_client.post(CHANGELIST, {"action": "activate_selected", "_selected_action": [str(three.pk)]})
    response = admin_client.post(CHANGELIST + "rollback/", follow=True)
    assert f"model version {two.pk} is active again" in response.content.decode()
    assert _status(two) == "active"


@pytest.mark.django_db
def test_admin_rollback_needs_the_change_permission(three_versions, client, django_user_model):
    from django.contrib.auth.models import Permission

    _, (_, _, three) = three_versions
    viewer = django_user_model.objects.create_user("clerk", password="a-long-password-123", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(viewer)
    page = client.get(CHANGELIST).content.decode()
    assert "activate_selected" not in page
    assert client.post(CHANGELIST + "rollback/").status_code == 403
    assert _status(three) == "active"


@pytest.mark.django_db
def test_old_versions_rows_are_pruned_and_cannot_be_activated(settings, fast_config, make_user):
    from recommender.exceptions import RetrainError
    from recommender.models import ModelVersion, Recommendation
    from recommender.services import retrain, version_activate
    from videos.models import Video, WatchEvent

    settings.RECOMMENDATION_VERSIONS_KEPT = 1
    videos = [Video.objects.create(title=f"P{i}") for i in range(6)]
    for u in range(4):
        user = make_user(f"p{u}")
        for v in videos[u % 2 :: 2]:
            WatchEvent.objects.create(user=user, video=v, completion=0.8)
    first = retrain(config=fast_config, force=True)
    second = retrain(config=fast_config, force=True)
    third = retrain(config=fast_config, force=True)
    first.refresh_from_db()
    second.refresh_from_db()
    assert not Recommendation.objects.filter(version=first).exists()
    assert first.metrics["recommendations_pruned"] and first.n_recommendations == 0
    assert Recommendation.objects.filter(version=second).exists()  # kept: the newest inactive one
    assert Recommendation.objects.filter(version=third).exists()  # active
    with pytest.raises(RetrainError, match="pruned"):
        version_activate(version=first)
    assert ModelVersion.objects.get(status="active") == third
