# ruff: noqa: F811  (fixtures imported from api_support are function parameters here)
"""The operators' API endpoints ask for the same model permissions as the admin's actions."""

from __future__ import annotations

import pytest
from api_support import _api_test_settings, catalog, publish_version, token_client, viewer  # noqa: F401
from django.contrib.auth.models import Permission

from recommender.models import ModelVersion

VIEW = "view_modelversion"
CHANGE = "change_modelversion"
RETRAIN = "retrain_model"


@pytest.fixture
def make_staff(make_user):
    def make(*codenames: str, **extra):
        user = make_user("operator", is_staff=True, **extra)
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label="recommender", codename__in=codenames)
        )
        return user

    return make


@pytest.fixture
def versions(viewer, catalog) -> tuple[ModelVersion, ModelVersion]:
    old = publish_version(users_videos={viewer: [catalog[0]]})
    old.status = ModelVersion.Status.RETIRED
    old.save()
    new = publish_version(users_videos={viewer: [catalog[1]]})
    return old, new


def assert_forbidden(response, permission: str) -> None:
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "permission_denied"
    assert permission in body["detail"]


def test_staff_without_permissions_is_refused_everywhere(make_staff, versions):
    old, new = versions
    client = token_client(make_staff())
    assert_forbidden(client.get("/api/models/"), VIEW)
    assert_forbidden(client.get(f"/api/models/{old.pk}/"), VIEW)
    assert_forbidden(client.post(f"/api/models/{old.pk}/activate/"), CHANGE)
    assert ModelVersion.objects.get(pk=new.pk).status == ModelVersion.Status.ACTIVE
    assert ModelVersion.objects.get(pk=old.pk).status == ModelVersion.Status.RETIRED
    versions_before = ModelVersion.objects.count()
    assert_forbidden(client.post("/api/retrain/", {"epochs": 1}, format="json"), RETRAIN)
    assert ModelVersion.objects.count() == versions_before


def test_view_permission_reads_but_does_not_activate_or_retrain(make_staff, versions):
    old, _new = versions
    client = token_client(make_staff(VIEW))
    assert client.get("/api/models/").json()["count"] == 2
    assert client.get(f"/api/models/{old.pk}/").json()["id"] == old.pk
    assert_forbidden(client.post(f"/api/models/{old.pk}/activate/"), CHANGE)
    assert_forbidden(client.post("/api/retrain/", {"epochs": 1}, format="json"), RETRAIN)


def test_change_permission_activates_and_reads(make_staff, versions):
    client = token_client(make_staff(CHANGE))
    assert client.get("/api/models/").status_code == 200
    failed = ModelVersion.objects.create(objective="completion", status="failed")
    # Past the permission check: the version itself is refused.
    assert client.post(f"/api/models/{failed.pk}/activate/").status_code == 409
    assert_forbidden(client.post("/api/retrain/", {"epochs": 1}, format="json"), RETRAIN)


def test_retrain_permission_reaches_the_retrain_endpoint_only(make_staff, versions):
    client = token_client(make_staff(RETRAIN))
    # Past the permission check: the body is validated (and refused) instead.
    assert client.post("/api/retrain/", {"epochs": 0}, format="json").status_code == 400
    assert_forbidden(client.get("/api/models/"), VIEW)


def test_permissions_from_a_group_count(make_staff, versions):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="operators")
    group.permissions.set(Permission.objects.filter(codename__in=[VIEW]))
    user = make_staff()
    user.groups.add(group)
    assert token_client(user).get("/api/models/").status_code == 200


def test_superusers_pass(make_staff, versions):
    client = token_client(make_staff(is_superuser=True))
    assert client.get("/api/models/").status_code == 200
    assert client.post("/api/retrain/", {"epochs": 0}, format="json").status_code == 400


def test_permissions_without_staff_status_are_not_enough(make_user, versions):
    user = make_user("clerk")
    user.user_permissions.set(Permission.objects.filter(codename__in=[VIEW, CHANGE, RETRAIN]))
    response = token_client(user).get("/api/models/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only staff members may use this endpoint."
