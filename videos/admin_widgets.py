"""Admin pieces that never hand a widget or the database a value its field cannot hold."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.forms import ModelChoiceField
from django.http import HttpRequest
from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin as _ModelAdmin
else:
    _ModelAdmin = object


class CheckedAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete ``<select>``, minus the crash on a submitted value that is not an id.

    When a form is shown again with errors, Django's widget looks up the submitted value to label
    the selected option, passing it to the database unchecked: ``video=abc`` raises ValueError
    (a 500) instead of showing the form's own "Select a valid choice" error. Values the target
    field cannot convert or its column cannot hold are left out of that lookup; the form field
    still reports them.
    """

    def optgroups(self, name: str, value: list[str], attr: dict[str, Any] | None = None) -> list[Any]:
        target = self.field.remote_field.model._meta.get_field(self.field.remote_field.field_name)
        return super().optgroups(name, [item for item in value if _storable(target, item, self.db)], attr)


def _storable(field: models.Field, value: Any, using: str | None) -> bool:
    """Whether ``value`` converts to a value of ``field`` that its database column can hold."""
    try:
        converted = field.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    if isinstance(converted, int):
        # Integers beyond the column's range (a 40-digit id) overflow the database driver.
        low, high = connections[using or DEFAULT_DB_ALIAS].ops.integer_field_range(field.get_internal_type())
        return (low is None or converted >= low) and (high is None or converted <= high)
    return True


class CheckedAutocompleteMixin(_ModelAdmin):
    """For a ModelAdmin: ``autocomplete_fields`` use ``CheckedAutocompleteSelect``."""

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CheckedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CheckedInitialDataMixin(_ModelAdmin):
    """For a ModelAdmin: the add form's initial values from the query string are checked first.

    Django passes ``?watched_at=…`` to the form unconverted, and the date-and-time widget then
    fails on the text (a 500). Values of a date or time field are converted (dropped when they do
    not parse); values that other fields cannot take (``?video=abc``) are dropped.
    """

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        for name in list(initial):
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if field.many_to_many or not field.concrete:
                continue
            target = field.target_field if field.is_relation else field
            value = initial[name]
            if not isinstance(value, str) or not _storable(target, value, None):
                del initial[name]
            elif isinstance(field, (models.DateField, models.TimeField)):
                converted = field.to_python(value)
                if isinstance(converted, datetime.datetime) and timezone.is_naive(converted):
                    converted = timezone.make_aware(converted)
                initial[name] = converted
        return initial
