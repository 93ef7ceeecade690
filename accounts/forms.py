from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _


class SignUpForm(UserCreationForm):
    """User name and password (twice); the password goes through AUTH_PASSWORD_VALIDATORS."""

    class Meta(UserCreationForm.Meta):
        help_texts = {"username": _("Up to 150 characters: letters, digits and @ . + - _ only.")}


class LoginForm(AuthenticationForm):
    """Django's log-in form with the user-name length checked on the server as well.

    Django sets the field's ``max_length`` only after the field is built, so the limit reaches the
    HTML attribute but not validation: a 10,000-character name went on to ``authenticate()`` and
    into the failed-login record, whose column is shorter (a 500 on PostgreSQL).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's log-in form (staff only) with the same server-side length check."""
