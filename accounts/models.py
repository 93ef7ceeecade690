from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SignupAttempt(models.Model):
    """One sign-up form submission, kept for ``SIGNUP_LIMIT_WINDOW_MINUTES`` to bound how many
    one client address can make (see ``accounts.services.signup_attempt_register``)."""

    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("sign-up attempt")
        verbose_name_plural = _("sign-up attempts")
        indexes = [models.Index(fields=["ip_address", "attempted_at"], name="signup_attempt_ip_time")]

    def __str__(self) -> str:
        return f"{self.ip_address or '?'} at {self.attempted_at:%Y-%m-%d %H:%M:%S}"
