"""Sign up, log in, log out and password change."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

User = get_user_model()


def test_signup_logs_in_and_goes_to_recommended(client, db):
    page = client.get(reverse("signup"))
    assert page.status_code == 200 and 'name="password2"' in page.text
    response = client.post(
        reverse("signup"),
        {"username": "newviewer", "password1": "tea-and-noodles-42", "password2": "tea-and-noodles-42"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("recommended")
    user = User.objects.get(username="newviewer")
    assert user.check_password("tea-and-noodles-42")
    page = client.get(reverse("recommended"))
    assert page.status_code == 200 and page.context["user"] == user
    assert "Welcome, newviewer!" in page.text


@pytest.mark.parametrize(
    ("password1", "password2", "message"),
    [
        ("short1", "short1", "This password is too short."),
        ("password123", "password123", "This password is too common."),
        ("83749201938", "83749201938", "This password is entirely numeric."),
        ("newviewer-1", "newviewer-1", "The password is too similar to the username."),
        ("tea-and-noodles-42", "tea-and-noodles-43", "The two password fields didn"),
    ],
)
def test_signup_applies_the_password_validators(client, db, password1, password2, message):
    response = client.post(reverse("signup"), {"username": "newviewer", "password1": password1, "password2": password2})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(username="newviewer").exists()
    assert "_auth_user_id" not in client.session


def test_signup_refuses_a_taken_name(client, make_user):
    make_user("taken")
    response = client.post(
        reverse("signup"), {"username": "taken", "password1": "tea-and-noodles-42", "password2": "tea-and-noodles-42"}
    )
    assert response.status_code == 400
    assert "A user with that username already exists." in response.text
    assert User.objects.filter(username="taken").count() == 1


def test_signup_page_sends_a_logged_in_user_on(client, make_user):
    client.force_login(make_user())
    assert client.get(reverse("signup"))["Location"] == reverse("recommended")


def test_login_page_and_bad_credentials(client, make_user):
    make_user("ann", password="a-long-password-123")
    page = client.get(reverse("login"))
    assert page.status_code == 200 and reverse("signup") in page.text
    response = client.post(reverse("login"), {"username": "ann", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert "_auth_user_id" not in client.session


def test_login_honours_a_safe_next_only(client, make_user):
    make_user("ann", password="a-long-password-123")
    creds = {"username": "ann", "password": "a-long-password-123"}
    response = client.post(reverse("login") + "?next=/history/", creds)
    assert response["Location"] == "/history/"
    client.logout()
    response = client.post(reverse("login") + "?next=https://evil.example/", creds)
    assert response["Location"] == reverse("recommended")


def test_logout_is_a_post(client, make_user):
    client.force_login(make_user())
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "_auth_user_id" not in client.session


def test_password_change(client, make_user):
    user = make_user("ann", password="a-long-password-123")
    url = reverse("password_change")
    assert client.get(url)["Location"].startswith(reverse("login"))  # login required

    client.force_login(user)
    assert client.get(url).status_code == 200
    wrong = client.post(
        url, {"old_password": "nope", "new_password1": "fresh-tea-leaves-9", "new_password2": "fresh-tea-leaves-9"}
    )
    assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.text
    weak = client.post(url, {"old_password": "a-long-password-123", "new_password1": "abc", "new_password2": "abc"})
    assert "This password is too short." in weak.text
    user.refresh_from_db()
    assert user.check_password("a-long-password-123")

    response = client.post(
        url,
        {
            "old_password": "a-long-password-123",
            "new_password1": "fresh-tea-leaves-9",
            "new_password2": "fresh-tea-leaves-9",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    user.refresh_from_db()
    assert user.check_password("fresh-tea-leaves-9")
    done = client.get(reverse("password_change_done"))
    assert done.status_code == 200 and done.context["user"] == user  # still logged in


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "recommended", []),
        ("get", "history", []),
        ("get", "password_change", []),
        ("get", "password_change_done", []),
        ("post", "history-remove", [1]),
        ("post", "video-watch", [1]),
    ],
)
def test_private_pages_send_anonymous_visitors_to_login(client, db, method, name, args):
    url = reverse(name, args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"
