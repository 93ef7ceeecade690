"""Login protection: failed password checks lock out an account per client address, and an address
after a higher limit, on every surface that checks a password; counted in the database, so the
limits hold with Redis down. Sign-up submissions are bounded per address the same way."""

from __future__ import annotations

import logging
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import SignupAttempt

PASSWORD = "a-long-password-123"
IP_A, IP_B = "203.0.113.10", "203.0.113.20"
# Nothing listens on port 1: every Redis call fails at once.
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
}


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 7
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    settings.SIGNUP_LIMIT_PER_IP = 3
    settings.SIGNUP_LIMIT_WINDOW_MINUTES = 60
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The API's own rate limits stay out of the way: the lockout is what is tested here.
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {scope: "10000/minute" for scope in ("anon", "user", "events", "auth")}
    settings.REST_FRAMEWORK = rest


@pytest.fixture
def ann(make_user):
    return make_user("ann", password=PASSWORD, is_staff=True)


@pytest.fixture
def bob(make_user):
    return make_user("bob", password=PASSWORD, is_staff=True)


# One function per surface: (username, password, address) -> (status code, logged in?).


def site_login(username: str, password: str, ip: str):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(reverse("login"), {"username": username, "password": password})
    return response, SESSION_KEY in client.session


def admin_login(username: str, password: str, ip: str):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(reverse("admin:login"), {"username": username, "password": password})
    return response, SESSION_KEY in client.session


def token_login(username: str, password: str, ip: str):
    client = APIClient(REMOTE_ADDR=ip)
    response = client.post("/api/auth/token/", {"username": username, "password": password}, format="json")
    return response, response.status_code == 200 and "token" in response.json()


SURFACES = [site_login, admin_login, token_login]


def assert_locked_out(response, surface) -> None:
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 15 * 60
    if surface is token_login:
        assert response.json() == {
            "detail": "Too many failed log-in attempts. Try again in 15 minutes.",
            "code": "locked_out",
        }
    else:
        assert "Too many failed log-in attempts. Try again in 15 minutes." in response.text


@pytest.mark.parametrize("surface", SURFACES)
def test_lockout_after_the_limit_refuses_even_the_right_password(surface, ann):
    for _ in range(2):
        response, logged_in = surface("ann", "wrong", IP_A)
        assert response.status_code in (200, 400) and not logged_in
    response, logged_in = surface("ann", "wrong", IP_A)
    assert_locked_out(response, surface)
    response, logged_in = surface("ann", PASSWORD, IP_A)
    assert_locked_out(response, surface)
    assert not logged_in


@pytest.mark.parametrize("surface", SURFACES)
def test_the_same_account_from_another_address_still_logs_in(surface, ann):
    for _ in range(3):
        surface("ann", "wrong", IP_A)
    assert surface("ann", PASSWORD, IP_A)[0].status_code == 429
    response, logged_in = surface("ann", PASSWORD, IP_B)
    assert logged_in, response.status_code


@pytest.mark.parametrize("surface", SURFACES)
def test_other_accounts_from_a_locked_out_address_log_in_below_the_address_limit(surface, ann, bob):
    for _ in range(3):
        surface("ann", "wrong", IP_A)
    assert surface("bob", PASSWORD, IP_A)[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_the_address_limit_locks_every_account_from_that_address(surface, ann, bob):
    # 7 failures spread over accounts, none of which reaches its own limit of 3.
    for name in ("x1", "x1", "x2", "x2", "x3", "x3"):
        assert surface(name, "wrong", IP_A)[0].status_code != 429
    assert_locked_out(surface("x4", "wrong", IP_A)[0], surface)
    response, logged_in = surface("bob", PASSWORD, IP_A)
    assert_locked_out(response, surface)
    assert not logged_in
    assert surface("bob", PASSWORD, IP_B)[1]


def test_the_limits_are_shared_by_all_surfaces(ann):
    site_login("ann", "wrong", IP_A)
    admin_login("ann", "wrong", IP_A)
    assert token_login("ann", "wrong", IP_A)[0].status_code == 429
    assert site_login("ann", PASSWORD, IP_A)[0].status_code == 429


def test_signup_is_bounded_per_address(client, db):
    url = reverse("signup")
    for i in range(3):
        form = {"username": f"new{i}", "password1": "tea-and-noodles-42", "password2": "tea-and-noodles-42"}
        assert Client(REMOTE_ADDR=IP_A).post(url, form).status_code == 302
    refused = Client(REMOTE_ADDR=IP_A).post(url, {"username": "new9", "password1": "x", "password2": "x"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 3600
    assert "Too many sign-up attempts from your network. Try again in 60 minutes." in refused.text
    # Refused attempts are not stored: a client that keeps trying does not grow the table.
    for _ in range(5):
        assert Client(REMOTE_ADDR=IP_A).post(url, {"username": "new9"}).status_code == 429
    assert SignupAttempt.objects.filter(ip_address=IP_A).count() == 3
    form = {"username": "other", "password1": "tea-and-noodles-42", "password2": "tea-and-noodles-42"}
    assert Client(REMOTE_ADDR=IP_B).post(url, form).status_code == 302
    # Showing the form is not an attempt; one window later the address may try again.
    assert Client(REMOTE_ADDR=IP_A).get(url).status_code == 200
    SignupAttempt.objects.update(attempted_at=timezone.now() - timedelta(minutes=61))
    assert Client(REMOTE_ADDR=IP_A).post(url, {"username": "late"}).status_code == 400


@pytest.mark.parametrize("surface", SURFACES)
def test_lockout_holds_with_redis_unreachable(surface, ann, settings):
    settings.CACHES = UNREACHABLE_REDIS
    for _ in range(3):
        surface("ann", "wrong", IP_A)
    response, logged_in = surface("ann", PASSWORD, IP_A)
    assert_locked_out(response, surface)
    assert not logged_in


def test_signup_limit_holds_with_redis_unreachable(db, settings):
    settings.CACHES = UNREACHABLE_REDIS
    for _ in range(3):
        Client(REMOTE_ADDR=IP_A).post(reverse("signup"), {"username": "x"})
    assert Client(REMOTE_ADDR=IP_A).post(reverse("signup"), {"username": "x"}).status_code == 429


def test_the_cool_off_ends_the_lockout(ann):
    for _ in range(3):
        site_login("ann", "wrong", IP_A)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert site_login("ann", PASSWORD, IP_A)[1]


def test_a_successful_login_forgets_only_that_accounts_failures(ann, bob):
    for _ in range(2):
        site_login("ann", "wrong", IP_A)
        site_login("mallory", "wrong", IP_A)
    assert site_login("ann", PASSWORD, IP_A)[1]
    assert not AccessAttempt.objects.filter(username="ann").exists()
    # Logging in to one's own account does not clear the address's failures on other accounts.
    assert AccessAttempt.objects.get(username="mallory").failures_since_start == 2
    assert site_login("mallory", "wrong", IP_A)[0].status_code == 429


def test_forwarded_for_is_ignored_without_a_configured_proxy(ann):
    for i in range(3):
        client = APIClient(REMOTE_ADDR=IP_A, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
        client.post("/api/auth/token/", {"username": "ann", "password": "wrong"}, format="json")
    forged = APIClient(REMOTE_ADDR=IP_A, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert forged.post("/api/auth/token/", {"username": "ann", "password": PASSWORD}).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {IP_A}


def test_behind_a_proxy_the_client_is_the_address_it_forwarded(ann, settings):
    rest = dict(settings.REST_FRAMEWORK)
    rest["NUM_PROXIES"] = 1
    settings.REST_FRAMEWORK = rest
    proxy = "10.0.0.2"
    for _ in range(3):
        # The client wrote the first entry itself; the proxy appended the address it saw.
        client = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {IP_A}")
        client.post("/api/auth/token/", {"username": "ann", "password": "wrong"}, format="json")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {IP_A}
    other_client = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=IP_B)
    assert other_client.post("/api/auth/token/", {"username": "ann", "password": PASSWORD}).status_code == 200
    # An entry that is not an address counts against the proxy itself.
    garbage = APIClient(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="not-an-address")
    assert garbage.post("/api/auth/token/", {"username": "ann", "password": "wrong"}).status_code == 400
    assert AccessAttempt.objects.filter(ip_address=proxy).exists()


def test_failures_are_logged_without_the_password(ann, caplog):
    secret = "hunter2-secret-guess"
    with caplog.at_level(logging.INFO):
        site_login("ann", secret, IP_A)
        token_login("ann", secret, IP_A)
    assert "ann" in caplog.text and IP_A in caplog.text
    assert secret not in caplog.text
    for attempt in AccessAttempt.objects.all():
        assert secret not in attempt.post_data and secret not in attempt.get_data


def test_the_lockout_page_is_translated(ann):
    for _ in range(3):
        site_login("ann", "wrong", IP_A)
    client = Client(REMOTE_ADDR=IP_A, HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post(reverse("login"), {"username": "ann", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录" in response.text and "15" in response.text
    assert "Too many failed log-in attempts" not in response.text


def test_operators_unlock_with_the_axes_commands(ann):
    for _ in range(3):
        site_login("ann", "wrong", IP_A)
    assert site_login("ann", PASSWORD, IP_A)[0].status_code == 429
    call_command("axes_reset_username", "ann")
    assert site_login("ann", PASSWORD, IP_A)[1]


def test_password_checks_without_a_request_are_not_counted(ann):
    # Scripts and Django's test client call authenticate() without a request: no address to count.
    from django.contrib.auth import authenticate

    for _ in range(5):
        assert authenticate(username="ann", password="wrong") is None
    assert not AccessAttempt.objects.exists()
    assert authenticate(username="ann", password=PASSWORD) == ann


@pytest.mark.parametrize("name", ["LOGIN_FAILURE_LIMIT", "LOGIN_FAILURE_LIMIT_PER_IP", "LOGIN_COOLOFF_MINUTES"])
def test_limits_below_one_are_refused_at_start(name, monkeypatch):
    monkeypatch.setenv(name, "0")
    with pytest.raises(ImproperlyConfigured, match=f"{name} must be at least 1"):
        runpy.run_path(str(Path(django_settings.BASE_DIR) / "recsite" / "settings.py"))
