from django.contrib.auth import password_validation
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's minimum length rule; its message is also in the site's catalogs.

    Django 5.2 reworded this message and its Simplified Chinese catalog still has only the old
    wording, so the site ships the translation (same msgid, so other languages keep Django's).
    """

    def get_error_message(self) -> str:
        return (
            ngettext(
                "This password is too short. It must contain at least %d character.",
                "This password is too short. It must contain at least %d characters.",
                self.min_length,
            )
            % self.min_length
        )
