"""API token authentication with an optional lifetime.

Tokens are DRF's (one per user, created by ``POST /api/auth/token/``). ``API_TOKEN_TTL_DAYS``
(0: no expiry) bounds how long one is accepted after it was issued; an expired token is deleted
when it is next presented, and the client gets 401 and must ask for a new one with its password.
A password change revokes the user's token (``accounts.signals``).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def token_lifetime() -> timedelta | None:
    days = settings.API_TOKEN_TTL_DAYS
    return timedelta(days=days) if days > 0 else None


def token_is_expired(token: Token) -> bool:
    lifetime = token_lifetime()
    return lifetime is not None and token.created <= timezone.now() - lifetime


def token_obtain(*, user: AbstractBaseUser) -> Token:
    """The user's token, a fresh one when the stored one has expired."""
    token, created = Token.objects.get_or_create(user=user)
    if not created and token_is_expired(token):
        token.delete()
        token = Token.objects.create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, refused with 401 once the token is older than its lifetime."""

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            token.delete()
            raise AuthenticationFailed(_("The token has expired; obtain a new one."), code="token_expired")
        return user, token
