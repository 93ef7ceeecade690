# ruff: noqa: F811  (fixtures imported from api_support are function parameters here)
"""API tokens: revoked by any password change, an optional lifetime, never cached."""

from __future__ import annotations

from datetime import timedelta

import pytest
from api_support import _api_test_settings, token_client, viewer  # noqa: F401
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from api.authentication import ExpiringTokenAuthentication

PASSWORD = "a-long-password-123"
NEW_PASSWORD = "fresh-tea-leaves-9"


def token_works(token: Token) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client.get("/api/events/").status_code == 200


@pytest.fixture
def token(viewer) -> Token:
    token = Token.objects.create(user=viewer)
    assert token_works(token)
    return token


def test_token_response_is_never_stored(viewer):
    response = APIClient().post("/api/auth/token/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_password_change_page_revokes_the_token(viewer, token, client):
    client.force_login(viewer)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not token_works(token)
    assert not Token.objects.filter(user=viewer).exists()


def test_admin_password_change_revokes_the_token(viewer, token, client, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.post(
        f"/admin/auth/user/{viewer.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:500]
    viewer.refresh_from_db()
    assert viewer.check_password(NEW_PASSWORD)
    assert not token_works(token)


def test_set_password_and_save_revokes_the_token(viewer, token):
    viewer.set_password(NEW_PASSWORD)
    viewer.save()
    assert not token_works(token)


def test_changepassword_command_revokes_the_token(viewer, token, monkeypatch):
    from django.contrib.auth.management.commands import changepassword

    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", "viewer")
    assert not token_works(token)


def test_saves_that_do_not_change_the_password_keep_the_token(viewer, token):
    viewer.first_name = "Vee"
    viewer.save()
    viewer.set_password(NEW_PASSWORD)
    viewer.save(update_fields=["first_name"])  # the new password is not written
    assert token_works(token)


def test_a_password_hash_upgrade_is_not_a_password_change(viewer, settings):
    # The stored hash uses an older hasher; the first password check rewrites it.
    old_hash = PBKDF2PasswordHasher().encode(PASSWORD, "somesalt", iterations=1)
    type(viewer).objects.filter(pk=viewer.pk).update(password=old_hash)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    token = Token.objects.create(user=viewer)
    response = APIClient().post("/api/auth/token/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"] == token.key
    viewer.refresh_from_db()
    assert viewer.password.startswith("md5$")
    assert token_works(token)


def test_tokens_never_expire_without_a_lifetime(viewer, token, settings):
    settings.API_TOKEN_TTL_DAYS = 0
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=3650))
    assert token_works(token)


@pytest.mark.parametrize("path", ["/api/events/", "/api/recommendations/"])  # the latter reads its feed with the token
def test_an_expired_token_is_refused_and_deleted(viewer, token, settings, path):
    settings.API_TOKEN_TTL_DAYS = 7
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=6, hours=23))
    assert token_works(token)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=7, minutes=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get(path)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {"detail": "The token has expired; obtain a new one.", "code": "token_expired"}
    assert not Token.objects.filter(pk=token.pk).exists()


def test_obtaining_a_token_replaces_an_expired_one(viewer, token, settings):
    settings.API_TOKEN_TTL_DAYS = 1
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=2))
    response = APIClient().post("/api/auth/token/", {"username": "viewer", "password": PASSWORD})
    assert response.status_code == 200
    fresh = Token.objects.get(user=viewer)
    assert response.json()["token"] == fresh.key != token.key
    assert token_works(fresh)
    # A token still within its lifetime is handed out again unchanged.
    again = APIClient().post("/api/auth/token/", {"username": "viewer", "password": PASSWORD})
    assert again.json()["token"] == fresh.key


@pytest.mark.django_db
def test_token_lookup_refuses_unknown_keys_and_inactive_users_and_loads_the_user(
    token, viewer, django_assert_num_queries
):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/recommendations/")
    assert response.status_code == 401 and response.json()["detail"] == "Invalid token."
    assert token_works(token)
    with django_assert_num_queries(1):  # the token with its user
        user, found = ExpiringTokenAuthentication().authenticate_credentials(token.key)
    assert (user.pk, user.username, user.is_active, found.key) == (viewer.pk, viewer.username, True, token.key)
    assert not user._state.adding
    viewer.is_active = False
    viewer.save()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/recommendations/").status_code == 401
