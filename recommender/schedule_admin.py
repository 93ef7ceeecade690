"""The retrain schedule's admin pages (django-celery-beat's), hardened against hostile input.

django-celery-beat's own ModelAdmins answer some values with a 500: the add forms take date and
time initial values from the query string unconverted, a crontab field such as ``-1`` reaches
celery's parser unchecked (its ParseException escapes while the form is shown again), and a
periodic task whose ``task`` field failed validation raises KeyError in the form's ``clean``. The
same admins are registered again here as subclasses that turn each of these into a form error,
keeping their features: the registered-task choices, the enable / disable / run-now actions and
the periodic-task form template (overridden in templates/admin/djcelery/ without inline script).
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING, Any

import django_celery_beat.admin as beat_admin  # registers the originals first, so they can be replaced
from celery import schedules
from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from kombu.utils.json import loads

from videos.admin_widgets import CheckedInitialDataMixin

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")


def crontab_field_error(name: str, value: str) -> str | None:
    """Why celery cannot read ``value`` as the crontab field ``name``, or None when it can."""
    try:
        schedules.crontab(**{name: value})
    except (schedules.ParseException, ValueError, TypeError, IndexError) as exc:
        return str(exc) or exc.__class__.__name__
    return None


class CrontabScheduleForm(forms.ModelForm):
    """Every crontab field is read by celery's parser here, so a bad one is a form error, not a 500."""

    class Meta:
        model = CrontabSchedule
        fields = [
            name
            for name in beat_admin.CrontabScheduleAdmin.fields
            if name not in beat_admin.CrontabScheduleAdmin.readonly_fields
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in CRONTAB_FIELDS:
            if name not in cleaned:
                continue
            reason = crontab_field_error(name, cleaned[name])
            if reason is not None:
                # add_error also drops the value, so the page's schedule description never parses it.
                self.add_error(name, gettext("Not a valid crontab value: %(reason)s") % {"reason": reason})
        return cleaned


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    """django-celery-beat's form, with the registered-task choice and the arguments checked."""

    def clean_regtask(self) -> str:
        value = self.cleaned_data["regtask"]
        if value and value not in {name for name, _label in self.fields["regtask"].widget.choices if name}:
            raise forms.ValidationError(
                gettext("Select a valid choice. %(value)s is not one of the available choices."),
                params={"value": value},
            )
        return value

    def clean(self) -> dict[str, Any]:
        if "task" not in self.cleaned_data and not self.cleaned_data.get("regtask"):
            # The custom task name already carries its field error; the parent's clean would read
            # the missing value and raise KeyError.
            return forms.ModelForm.clean(self)
        return super().clean()

    def _clean_json_of(self, field: str, kind: type, example: str) -> str:
        value = self._clean_json(field)
        if not isinstance(loads(value), kind):
            # Running the task would pass these to it as *args / **kwargs.
            raise forms.ValidationError(gettext("Enter JSON like %(example)s.") % {"example": example})
        return value

    def clean_args(self) -> str:
        return self._clean_json_of("args", list, '["arg1", "arg2"]')

    def clean_kwargs(self) -> str:
        return self._clean_json_of("kwargs", dict, '{"argument": "value"}')


class PeriodicTaskAdmin(CheckedInitialDataMixin, beat_admin.PeriodicTaskAdmin):
    form = PeriodicTaskForm


if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin as _ModelAdmin
else:
    _ModelAdmin = object


class TimezoneInitialDataMixin(_ModelAdmin):
    """For a ModelAdmin: a ``?timezone=`` initial value that names no time zone is dropped.

    The time-zone field converts a value by opening the tzdata file it names, so an overlong name
    raises OSError where other fields raise ValidationError; ``CheckedInitialDataMixin`` (which
    runs after this one) would pass that on as a 500.
    """

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        if "timezone" in initial and initial["timezone"] not in zoneinfo.available_timezones():
            del initial["timezone"]
        return initial


class CrontabScheduleAdmin(CheckedInitialDataMixin, TimezoneInitialDataMixin, beat_admin.CrontabScheduleAdmin):
    form = CrontabScheduleForm

    @admin.display(description=_("Human readable"))
    def human_readable(self, obj: CrontabSchedule) -> str:
        """The schedule in words; a row stored with a value celery cannot read shows that instead."""
        try:
            return obj.human_readable
        except (schedules.ParseException, ValueError, TypeError, IndexError):
            return gettext("(not a valid crontab)")


class ClockedScheduleAdmin(CheckedInitialDataMixin, beat_admin.ClockedScheduleAdmin):
    pass


class SolarScheduleAdmin(CheckedInitialDataMixin, beat_admin.SolarScheduleAdmin):
    pass


class IntervalScheduleAdmin(CheckedInitialDataMixin, beat_admin.IntervalScheduleAdmin):
    pass


REPLACEMENTS: dict[type, type[admin.ModelAdmin]] = {
    PeriodicTask: PeriodicTaskAdmin,
    CrontabSchedule: CrontabScheduleAdmin,
    ClockedSchedule: ClockedScheduleAdmin,
    SolarSchedule: SolarScheduleAdmin,
    IntervalSchedule: IntervalScheduleAdmin,
}

for _model, _model_admin in REPLACEMENTS.items():
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _model_admin)
