"""A password change revokes the account's API tokens, whichever way the password was changed."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models.signals import post_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts-revoke-tokens-on-password-change")
def revoke_tokens_on_password_change(
    sender: type[AbstractBaseUser],
    instance: AbstractBaseUser,
    created: bool,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    # set_password() keeps the new raw password until save() has written the row (Django uses it
    # to notify the password validators); the password-change page, the admin form, the
    # changepassword command and any set_password() + save() all go through it. Hash upgrades at
    # log-in clear it first: they are not password changes.
    if created or getattr(instance, "_password", None) is None:
        return
    if update_fields is None or "password" in update_fields:
        Token.objects.filter(user=instance).delete()
