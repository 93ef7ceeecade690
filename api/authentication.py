"""API token authentication with an optional lifetime.

Tokens are DRF's (one per user, created by ``POST /api/auth/token/``). ``API_TOKEN_TTL_DAYS``
(0: no expiry) bounds how long one is accepted after it was issued; an expired token is deleted
when it is next presented, and the client gets 401 and must ask for a new one with its password.
A password change revokes the user's token (``accounts.signals``).
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
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


@functools.cache
def _token_sql(lateral: str = "") -> tuple[str, list[str]]:
    """SELECT of a token's creation time and its user's concrete fields (and, when ``lateral`` is a
    subquery, its columns after them, NULLs when it has no row), and those fields' names. The
    subquery may name the user's id as ``u.id``."""
    user_model = get_user_model()
    names = [f.attname for f in user_model._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(f"u.{quote(f.column)}" for f in user_model._meta.concrete_fields)
    extra = ", x.*" if lateral else ""
    joined = f" LEFT JOIN LATERAL ({lateral}) x ON true" if lateral else ""
    sql = (
        f"SELECT t.{quote('created')}, {columns}{extra} FROM {quote(Token._meta.db_table)} t"
        f" JOIN {quote(user_model._meta.db_table)} u ON u.{quote(user_model._meta.pk.column)} = t.{quote('user_id')}"
        f"{joined} WHERE t.{quote('key')} = %s"
    )
    return sql, names


def _token_lookup(
    key: str, lateral: str = "", lateral_params: list | None = None
) -> tuple[AbstractBaseUser, Token, tuple] | None:
    """The token and its user in one hand-written query (PostgreSQL: its driver returns the values as the
    ORM would; every API request pays for this lookup, and the ORM's query compilation was a third of
    it), with the columns of the ``lateral`` subquery if any. None when no token has that key."""
    sql, names = _token_sql(lateral)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(lateral_params or []), key])
        found = cursor.fetchone()
    if found is None:
        return None
    width = 1 + len(names)
    user = get_user_model().from_db(connection.alias, names, found[1:width])
    token = Token.from_db(connection.alias, ["key", "user_id", "created"], [key, user.pk, found[0]])
    token.user = user  # type: ignore[attr-defined]
    return user, token, tuple(found[width:])


class TokenLateral(Protocol):
    """What a view reads in the same query as the token (its ``token_lateral`` attribute; PostgreSQL)."""

    def sql(self) -> str:
        """A subquery, at most one row; it may name the user's id as ``u.id``."""
        ...

    def params(self) -> list[Any]:
        """The subquery's parameters, in order."""
        ...

    def found(self, request: Any, values: tuple) -> None:
        """Given the subquery's columns (all None when it had no row); called for an accepted token only."""
        ...


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, refused with 401 once the token is older than its lifetime.

    On PostgreSQL a view with a ``token_lateral`` (a ``TokenLateral``) reads what it needs in the
    token's query: one database round trip for the token, its user and the view's data."""

    _lateral: TokenLateral | None = None
    _request: Any = None

    def authenticate(self, request: Any) -> tuple[AbstractBaseUser, Token] | None:
        view = (getattr(request, "parser_context", None) or {}).get("view")
        self._lateral = getattr(view, "token_lateral", None)
        self._request = request
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
        if connection.vendor == "postgresql":
            lateral = self._lateral
            if lateral is not None:
                found = _token_lookup(key, lateral.sql(), lateral.params())
            else:
                found = _token_lookup(key)
            if found is None:
                raise AuthenticationFailed(_("Invalid token."))
            user, token, extra = found
            if not user.is_active:
                raise AuthenticationFailed(_("User inactive or deleted."))
            if lateral is not None and not token_is_expired(token):
                lateral.found(self._request, extra)
        else:
            user, token = super().authenticate_credentials(key)
        if token_is_expired(token):
            token.delete()
            raise AuthenticationFailed(_("The token has expired; obtain a new one."), code="token_expired")
        return user, token
