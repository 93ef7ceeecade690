"""The watch-data CSV service: read and check (nothing stored), store all or nothing, export."""

import pytest
from conftest import SEED_MATRIX
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from videos.models import Video, WatchEvent
from videos.watch_csv import (
    WatchCsvError,
    spreadsheet_safe,
    watch_csv_export,
    watch_csv_import,
    watch_csv_preview,
    watch_csv_read,
    watch_csv_store,
)

User = get_user_model()


def _nothing_stored() -> None:
    assert WatchEvent.objects.count() == 0
    assert Video.objects.count() == 0
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_preview_lists_what_would_be_created_and_stores_nothing(make_user):
    make_user("ann")
    Video.objects.create(title="Intro")
    parsed = watch_csv_read(
        data=b"user,video,completion,watched_at\nann,Intro,0.5,2026-01-02T10:00:00Z\nbob,Outro,1,\n",
    )
    assert parsed.format == "long"
    assert parsed.ok, parsed.problems
    preview = watch_csv_preview(parsed=parsed)
    assert preview.new_users == ["bob"]
    assert preview.new_videos == ["Outro"]
    assert WatchEvent.objects.count() == 0
    assert User.objects.count() == 1

    result = watch_csv_store(parsed=parsed)
    assert (result.users_created, result.videos_created, result.events_created) == (1, 1, 2)
    ann = WatchEvent.objects.get(user__username="ann")
    assert ann.completion == pytest.approx(0.5)
    assert ann.watched_at.isoformat() == "2026-01-02T10:00:00+00:00"
    assert ann.source == WatchEvent.Source.IMPORT
    bob = User.objects.get(username="bob")
    assert not bob.has_usable_password()  # an imported viewer cannot sign in until given a password


@pytest.mark.django_db
def test_wide_matrix_empty_cell_is_not_watched_but_zero_is_a_watch():
    result = watch_csv_import(data="user,A,B,C\nann,0,,10\n", format="auto")
    assert result.events_created == 2
    values = dict(WatchEvent.objects.values_list("video__title", "completion"))
    assert values == {"A": 0.0, "C": 1.0}


@pytest.mark.django_db
def test_utf8_byte_order_mark_is_accepted():
    """Excel's "CSV UTF-8" starts with a byte order mark; the first column must still be `user`."""
    result = watch_csv_import(data="\ufeffuser,video,completion\nzoë,Café,0.25\n".encode())
    assert result.events_created == 1
    assert WatchEvent.objects.get().user.username == "zoë"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"user;A;B\nann;5;3\n", "auto", "Row 1: the columns are separated by semicolons"),
        (b"user\tvideo\tcompletion\nann\tA\t0.5\n", "auto", "Row 1: the columns are separated by tabs"),
        ("user,video,completion\nann,A,0.5\n".encode("utf-16"), "auto", "Row 1: the file is UTF-16 text"),
        ("user,video,completion\nann,A,0.5\nzoë,B,1\n".encode("latin-1"), "auto", "Row 3: byte 0xeb is not UTF-8"),
        (b"user,video,completion\nann,A,\n", "auto", "Row 2, column 3 (completion): empty; write 0"),
        (b"user,video,completion,rating\nann,A,0.5,4\n", "auto", "Row 1, column 4: unknown column 'rating'"),
        (b"user,video\nann,A\n", "auto", "Row 1: the column completion is missing"),
        (b"user,A,B\nann,5,11\n", "wide", "Row 2 (ann), column 3 (B): 11 is outside 0..10"),
        (b"user,video,completion\nann,A,1.5\n", "auto", "Row 2, column 3 (completion): '1.5'"),
        (b"user,video,completion\nann,A,nan\n", "auto", "Row 2, column 3 (completion): 'nan'"),
        (b"user,video,completion,watched_at\nann,A,1,yesterday\n", "auto", "Row 2, column 4 (watched_at)"),
        (b"user,video,completion,watched_at\nann,A,1,2999-01-01T00:00:00Z\n", "auto", "is in the future"),
        (b"user,video,completion\nann,A,1,extra\n", "auto", "Row 2: 4 cells but the header has 3 columns"),
        (b"user,video,completion\nbad name!,A,1\n", "auto", "Row 2, column 1 (user): 'bad name!' is not a valid"),
        (b"user,A\nx\x00y,1\n", "auto", "Row 2: the file holds NUL bytes"),
        (b"", "auto", "The file is empty"),
    ],
)
def test_bad_files_are_refused_with_row_and_column_and_nothing_stored(data, fmt, message):
    parsed = watch_csv_read(data=data, format=fmt)
    assert not parsed.ok
    assert any(message in p for p in parsed.problems), parsed.problems
    with pytest.raises(WatchCsvError):
        watch_csv_store(parsed=parsed)
    _nothing_stored()


@pytest.mark.django_db
def test_every_problem_is_listed_and_good_rows_are_not_stored_either():
    data = b"user,video,completion\nann,A,0.5\nbob,B,2\ncid,C,\ndee,D,0.1\n"
    parsed = watch_csv_read(data=data)
    assert [p.split(":")[0] for p in parsed.problems] == [
        "Row 3, column 3 (completion)",
        "Row 4, column 3 (completion)",
    ]
    with pytest.raises(WatchCsvError, match=r"Row 3, column 3 \(completion\).*\(2 problems in all\.\)"):
        watch_csv_import(data=data)
    _nothing_stored()


@pytest.mark.django_db
def test_names_and_titles_follow_the_models_rules(tmp_path):
    """Regression: import_matrix stored a 200-character user name and a 300-character title on
    SQLite (and failed with a raw DataError on PostgreSQL)."""
    long_user, long_title = "u" * 200, "T" * 300
    path = tmp_path / "long.csv"
    path.write_text(f"user,{long_title}\n{long_user},5\n")
    with pytest.raises(CommandError, match=r"^Row 1, column 2: 'TTTT.*is not a valid video title: .*at most 255"):
        call_command("import_matrix", str(path))
    path.write_text(f"user,Fine title\n{long_user},5\n")
    with pytest.raises(CommandError, match=r"^Row 2, column 1: 'uuuu.*is not a valid user name: .*at most 150"):
        call_command("import_matrix", str(path))
    _nothing_stored()


@pytest.mark.django_db
def test_import_matrix_reads_the_reference_file_through_the_same_service():
    call_command("import_matrix", str(SEED_MATRIX))
    assert WatchEvent.objects.count() == 29


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("plain", "plain")],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["long", "wide"])
def test_export_escapes_formulas_and_imports_back_unchanged(make_user, fmt):
    watch_csv_import(data="user,video,completion\n-minus,=HYPERLINK(1),0.3\n@ann,Plain,1\n@ann,+Plus,0\n")
    before = sorted(WatchEvent.objects.values_list("user__username", "video__title", "completion"))
    text = "".join(watch_csv_export(format=fmt))
    assert "'=HYPERLINK(1)" in text and "'-minus" in text and "'@ann" in text and "'+Plus" in text
    assert "\n=" not in text and ",=" not in text and ",@" not in text

    WatchEvent.objects.all().delete()
    Video.objects.all().delete()
    User.objects.all().delete()
    watch_csv_import(data=text.encode(), format=fmt)
    after = sorted(WatchEvent.objects.values_list("user__username", "video__title", "completion"))
    assert [(u, t) for u, t, _c in after] == [(u, t) for u, t, _c in before]
    assert [c for *_ut, c in after] == pytest.approx([c for *_ut, c in before])


@pytest.mark.django_db
def test_wide_export_reduces_repeated_watches_like_the_training_matrix(settings):
    settings.WATCH_AGGREGATE = "max"
    watch_csv_import(data="user,video,completion\nann,A,0.2\nann,A,0.9\nann,A,0.4\nbob,B,1\n")
    lines = "".join(watch_csv_export(format="wide")).splitlines()
    assert lines == ["user,A,B", "ann,9,", "bob,,10"]
