from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _


class SignUpForm(UserCreationForm):
    """User name and password (twice); the password goes through AUTH_PASSWORD_VALIDATORS."""

    class Meta(UserCreationForm.Meta):
        help_texts = {"username": _("Up to 150 characters: letters, digits and @ . + - _ only.")}
