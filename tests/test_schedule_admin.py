"""The retrain schedule's admin pages (django-celery-beat's models): bad values are form errors, good
ones are stored, and the periodic-task form keeps its task choices, run-now action and script.
Run on SQLite and on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django_celery_beat.models import ClockedSchedule, CrontabSchedule, PeriodicTask

from recsite.celery import app

pytestmark = pytest.mark.django_db
RETRAIN_TASK = "recommender.tasks.retrain_task"
CRONTAB_URL = "/admin/django_celery_beat/crontabschedule/"
TASK_URL = "/admin/django_celery_beat/periodictask/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff_client(make_user) -> Client:
    client = Client()
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def crontab_data(**changes: str) -> dict[str, str]:
    data = {
        "minute": "30",
        "hour": "3",
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "1-5",
        "timezone": "UTC",
        # The inline list of tasks using the schedule (read-only, but its management form is sent).
        "periodictask_set-TOTAL_FORMS": "0",
        "periodictask_set-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def task_data(schedule: CrontabSchedule, **changes: str) -> dict[str, str]:
    data = {
        "name": "nightly retrain",
        "regtask": RETRAIN_TASK,
        "task": "",
        "enabled": "on",
        "description": "",
        "crontab": str(schedule.pk),
        "args": "[]",
        "kwargs": json.dumps({"triggered_by": "beat"}),
        "queue": "training",
        "headers": "{}",
    }
    data.update(changes)
    return data


def form_errors(response) -> dict:
    assert response.status_code == 200, response.content[:300]
    return response.context["adminform"].form.errors


@pytest.fixture
def nightly() -> CrontabSchedule:
    return CrontabSchedule.objects.create(minute="30", hour="3", day_of_week="1-5")


# --- an operator can still schedule the retrain ------------------------------------------------------------


def test_a_valid_crontab_schedule_is_stored(staff_client):
    response = staff_client.post(CRONTAB_URL + "add/", crontab_data())
    assert response.status_code == 302, form_errors(response)
    crontab = CrontabSchedule.objects.get()
    assert (crontab.minute, crontab.hour, crontab.day_of_week) == ("30", "3", "1-5")
    page = staff_client.get(f"{CRONTAB_URL}{crontab.pk}/change/")
    assert page.status_code == 200
    assert "At 03:30 AM, only on Monday" in page.content.decode()  # the schedule in words


def test_a_periodic_retrain_task_is_stored(staff_client, nightly):
    response = staff_client.post(TASK_URL + "add/", task_data(nightly))
    assert response.status_code == 302, form_errors(response)
    task = PeriodicTask.objects.get(name="nightly retrain")
    assert (task.task, task.crontab, task.queue) == (RETRAIN_TASK, nightly, "training")
    assert json.loads(task.kwargs) == {"triggered_by": "beat"}


def test_a_custom_task_name_is_still_accepted(staff_client, nightly):
    """Tasks only the workers know are named by hand, as django-celery-beat allows."""
    response = staff_client.post(TASK_URL + "add/", task_data(nightly, regtask="", task="worker.only.task"))
    assert response.status_code == 302, form_errors(response)
    assert PeriodicTask.objects.filter(task="worker.only.task").exists()


def test_the_task_form_offers_the_retrain_task_and_loads_its_script(staff_client, nightly):
    response = staff_client.get(TASK_URL + "add/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'<option value="{RETRAIN_TASK}">' in page
    assert 'id="readable-crontabs"' in page and "js/periodic-task-form.js" in page
    readable = response.context["readable_crontabs"]
    assert readable == {nightly.pk: nightly.human_readable}
    # No inline script: every <script> element either loads a file or holds JSON data.
    for chunk in page.split("<script")[1:]:
        head = chunk.split(">", 1)[0]
        assert "src=" in head or 'type="application/json"' in head, head


def test_run_now_queues_the_stored_task(staff_client, nightly, monkeypatch):
    periodic = PeriodicTask.objects.create(
        name="nightly retrain", task=RETRAIN_TASK, crontab=nightly, kwargs='{"triggered_by": "admin"}'
    )
    calls = []
    monkeypatch.setattr(app.tasks[RETRAIN_TASK], "apply_async", lambda **kwargs: calls.append(kwargs))
    response = staff_client.post(TASK_URL, {"action": "run_tasks", "_selected_action": [str(periodic.pk)]})
    assert response.status_code == 302
    assert calls == [
        {"args": [], "kwargs": {"triggered_by": "admin"}, "headers": {"periodic_task_name": periodic.name}}
    ]


# --- bad values are form errors naming the field, and nothing is stored -------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("minute", "-1"),  # was a 500: celery's ParseException while the form was shown again
        ("hour", "-1"),
        ("day_of_month", "-1"),
        ("month_of_year", "-1"),
        ("day_of_week", "-1"),
        ("minute", "60"),
        ("hour", "9" * 40),
        ("day_of_month", "0"),
        ("month_of_year", "13"),
        ("day_of_week", "funday"),
        ("minute", "*/0"),
        ("hour", "%"),
    ],
)
def test_a_bad_crontab_field_is_a_form_error(staff_client, field, value):
    errors = form_errors(staff_client.post(CRONTAB_URL + "add/", crontab_data(**{field: value})))
    assert field in errors, errors
    assert not CrontabSchedule.objects.exists()


def test_a_crontab_stored_with_a_bad_value_still_shows(staff_client):
    """A row written outside the admin (say, by a script) must not break its pages."""
    crontab = CrontabSchedule.objects.create(minute="-1")
    assert staff_client.get(CRONTAB_URL).status_code == 200
    page = staff_client.get(f"{CRONTAB_URL}{crontab.pk}/change/")
    assert page.status_code == 200
    assert "(not a valid crontab)" in page.content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"regtask": "", "task": "x" * 201}, "task"),  # was a 500: KeyError in the form's clean
        ({"regtask": "", "task": ""}, "task"),
        ({"regtask": "no.such.task"}, "regtask"),
        ({"regtask": "x" * 10_000}, "regtask"),
        ({"args": "{}"}, "args"),
        ({"args": "1.5"}, "args"),
        ({"args": "[1"}, "args"),
        ({"kwargs": "[]"}, "kwargs"),
        ({"kwargs": "abc"}, "kwargs"),
        ({"crontab": "abc"}, "crontab"),
        ({"expires_0": "2024-13-45", "expires_1": "10:00"}, "expires"),
    ],
)
def test_a_bad_periodic_task_is_a_form_error(staff_client, nightly, changes, field):
    errors = form_errors(staff_client.post(TASK_URL + "add/", task_data(nightly, **changes)))
    assert field in errors, errors
    assert not PeriodicTask.objects.exists()


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("clockedschedule", "clocked_time=abc"),  # was a 500: the date-and-time widget got the text
        ("clockedschedule", "clocked_time=" + "9" * 40),
        ("periodictask", "start_time=2024-13-45"),
        ("periodictask", "expires=abc"),
        ("periodictask", "crontab=abc"),
        ("periodictask", "regtask=no.such.task"),
        ("crontabschedule", "timezone=" + "x" * 1000),  # an overlong name made the time-zone field raise OSError
        ("crontabschedule", "timezone=Not/A_Zone"),
        ("crontabschedule", "minute=-1"),
    ],
)
def test_odd_initial_values_are_dropped(staff_client, path, query):
    assert staff_client.get(f"/admin/django_celery_beat/{path}/add/?{query}").status_code == 200


def test_good_initial_values_are_kept(staff_client):
    response = staff_client.get(TASK_URL + "add/?start_time=2024-01-02%2003:04:05&name=nightly")
    initial = response.context["adminform"].form.initial
    assert initial["start_time"].isoformat() == "2024-01-02T03:04:05+00:00"
    assert initial["name"] == "nightly"
    clocked = staff_client.get("/admin/django_celery_beat/clockedschedule/add/?clocked_time=2024-01-02")
    assert clocked.context["adminform"].form.initial["clocked_time"].isoformat() == "2024-01-02T00:00:00+00:00"
    assert not ClockedSchedule.objects.exists()
    crontab = staff_client.get(CRONTAB_URL + "add/?timezone=Europe/Paris&hour=3")
    assert crontab.context["adminform"].form.initial["timezone"] == "Europe/Paris"
    assert crontab.context["adminform"].form.initial["hour"] == "3"
