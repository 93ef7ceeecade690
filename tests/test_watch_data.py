"""Watch events: validation in the service, and the database's own guarantees."""

import math

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from videos.models import Video, WatchEvent
from videos.services import parse_completion, watch_event_record


@pytest.fixture
def video(db):
    return Video.objects.create(title="A video", duration_seconds=60)


@pytest.mark.parametrize(
    "value", [float("nan"), "nan", "inf", "-inf", "1e400", -0.01, 1.0001, None, "", True, [], "abc"]
)
def test_parse_completion_refuses_bad_values(value):
    with pytest.raises(ValidationError):
        parse_completion(value)


@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (1, 1.0), ("0.5", 0.5), (0.25, 0.25)])
def test_parse_completion_accepts_numbers_in_range(value, expected):
    assert parse_completion(value) == expected


@pytest.mark.django_db
def test_record_stores_event(make_user, video):
    user = make_user()
    event, created = watch_event_record(user=user, video=video, completion=0.4)
    assert created
    assert WatchEvent.objects.get().completion == pytest.approx(0.4)
    assert event.source == WatchEvent.Source.WEB


@pytest.mark.django_db
def test_record_with_bad_completion_stores_nothing(make_user, video):
    with pytest.raises(ValidationError):
        watch_event_record(user=make_user(), video=video, completion=math.nan)
    assert WatchEvent.objects.count() == 0


@pytest.mark.django_db
def test_client_event_id_makes_retries_idempotent(make_user, video):
    user, other = make_user(), make_user("other")
    first, created = watch_event_record(user=user, video=video, completion=0.3, client_event_id="abc-1")
    again, created_again = watch_event_record(user=user, video=video, completion=0.9, client_event_id="abc-1")
    assert created and not created_again
    assert again.pk == first.pk and again.completion == pytest.approx(0.3)
    # The id is unique per user, not globally.
    _, created_other = watch_event_record(user=other, video=video, completion=0.5, client_event_id="abc-1")
    assert created_other
    assert WatchEvent.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("completion", [-0.1, 1.5])
def test_database_check_constraint_rejects_out_of_range(make_user, video, completion):
    user = make_user()
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchEvent.objects.create(user=user, video=video, completion=completion)
    assert WatchEvent.objects.count() == 0


@pytest.mark.django_db
def test_database_rejects_duplicate_client_event_id(make_user, video):
    user = make_user()
    WatchEvent.objects.create(user=user, video=video, completion=0.1, client_event_id="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        WatchEvent.objects.create(user=user, video=video, completion=0.2, client_event_id="x")
    # Several events without a client id for the same pair are fine.
    WatchEvent.objects.create(user=user, video=video, completion=0.2)
    WatchEvent.objects.create(user=user, video=video, completion=0.3)
    assert WatchEvent.objects.filter(user=user, video=video).count() == 3
