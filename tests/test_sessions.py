"""recsite.sessions: Django's database sessions, read by hand: the same sessions, the same rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from recsite.sessions import SessionStore


def test_the_site_uses_this_store():
    assert settings.SESSION_ENGINE == "recsite.sessions"


@pytest.mark.django_db
def test_a_session_reads_back_what_django_wrote():
    store = SessionStore()
    store["cart"] = {"videos": [1, 2], "note": "«é»"}
    store.set_expiry(3600)
    store.save()
    again = SessionStore(session_key=store.session_key)
    assert again["cart"] == {"videos": [1, 2], "note": "«é»"}
    assert again.session_key == store.session_key
    assert again.get_expiry_age() == pytest.approx(3600, abs=5)


@pytest.mark.django_db
def test_expired_and_unknown_sessions_are_empty_and_lose_their_key():
    store = SessionStore()
    store["k"] = 1
    store.save()
    Session.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(session_key=store.session_key)
    assert expired.load() == {} and expired.session_key is None
    unknown = SessionStore(session_key="x" * 32)
    assert unknown.load() == {} and unknown.session_key is None


@pytest.mark.django_db
def test_log_in_and_out_through_the_site(client, make_user):
    make_user("ann", password="a-long-password-123")
    assert client.get("/recommended/").status_code == 302  # the log-in page
    response = client.post("/accounts/login/", {"username": "ann", "password": "a-long-password-123"})
    assert response.status_code == 302
    assert client.get("/recommended/").status_code == 200
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=key).exists()
    client.post("/accounts/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/recommended/").status_code == 302
