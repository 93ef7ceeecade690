"""`manage.py load_movielens`: both layouts, idempotent, clear errors (tiny fake folders, never real data)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from videos.models import Category, Video, WatchEvent
from videos.movielens import MovieLensError, movielens_load, movielens_read

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama"]
GENRES += ["Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def _flags(*names: str) -> str:
    return "|".join("1" if g in names else "0" for g in GENRES)


@pytest.fixture
def ml100k(tmp_path):
    """A MovieLens-100K-shaped folder: 3 movies (one title repeated, one latin-1), 3 users, 5 ratings."""
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(GENRES)) + "\n", encoding="latin-1")
    (folder / "u.item").write_bytes(
        (
            f"1|Toy Story (1995)|01-Jan-1995||http://example.org/1|{_flags('Animation', 'Comedy')}\n"
            f"2|Café Society (1995)|01-Jan-1995||http://example.org/2|{_flags('Drama')}\n"
            f"3|Toy Story (1995)|01-Jan-1996||http://example.org/3|{_flags()}\n"
        ).encode("latin-1")
    )
    (folder / "u.data").write_text(
        "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t1\t891717742\n3\t3\t4\t878887116\n2\t3\t2\t880606923\n"
    )
    (folder / "u1.base").write_text("1\t1\t5\t881250949\n2\t1\t1\t891717742\n")
    return folder


@pytest.fixture
def ml_latest(tmp_path):
    """An ml-latest-small-shaped folder: half-star ratings, genres separated by |."""
    folder = tmp_path / "ml-latest-small"
    folder.mkdir()
    (folder / "movies.csv").write_text(
        "movieId,title,genres\n"
        '10,"Heat, Part One (1995)",Action|Crime|Thriller\n'
        "20,Quiet Film (2001),(no genres listed)\n",
        encoding="utf-8",
    )
    (folder / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n7,10,4.5,964982703\n7,20,0.5,964981247\n8,10,2.0,1445714835\n",
        encoding="utf-8",
    )
    return folder


def _events():
    return {
        (e.user.username, e.video.external_id): e.completion for e in WatchEvent.objects.select_related("user", "video")
    }


@pytest.mark.django_db
def test_load_100k_layout(ml100k, capsys):
    call_command("load_movielens", str(ml100k))
    out = capsys.readouterr().out
    assert "Loaded ml-100k: 5 new watch events of 5 (3 new users, 3 new videos)" in out
    assert _events() == {
        ("ml-1", "movielens:1"): 1.0,
        ("ml-1", "movielens:2"): 0.6,
        ("ml-2", "movielens:1"): 0.2,
        ("ml-3", "movielens:3"): 0.8,
        ("ml-2", "movielens:3"): 0.4,
    }
    titles = dict(Video.objects.values_list("external_id", "title"))
    assert titles == {
        "movielens:1": "Toy Story (1995)",
        "movielens:2": "Café Society (1995)",
        "movielens:3": "Toy Story (1995) [#3]",  # titles are unique in the catalogue
    }
    toy = Video.objects.get(external_id="movielens:1")
    assert toy.category.name == "Animation" and toy.tags == "Animation, Comedy"
    assert Video.objects.get(external_id="movielens:3").category is None
    assert set(Category.objects.values_list("name", flat=True)) == {"Animation", "Comedy", "Drama"}
    first = WatchEvent.objects.get(user__username="ml-1", video__external_id="movielens:1")
    assert first.watched_at == datetime.fromtimestamp(881250949, tz=UTC)
    assert first.source == WatchEvent.Source.IMPORT
    assert not get_user_model().objects.get(username="ml-1").has_usable_password()


@pytest.mark.django_db
def test_load_latest_small_layout(ml_latest):
    result = movielens_load(ml_latest)
    assert (result.layout, result.users_created, result.videos_created, result.events_created) == (
        "ml-latest-small",
        2,
        2,
        3,
    )
    assert _events() == {
        ("ml-7", "movielens:10"): 0.9,
        ("ml-7", "movielens:20"): 0.1,
        ("ml-8", "movielens:10"): 0.4,
    }
    heat = Video.objects.get(external_id="movielens:10")
    assert heat.title == "Heat, Part One (1995)" and heat.category.name == "Action"
    assert Video.objects.get(external_id="movielens:20").category is None  # "(no genres listed)"


@pytest.mark.django_db
def test_loading_twice_stores_everything_once(ml100k):
    movielens_load(ml100k)
    before = (WatchEvent.objects.count(), Video.objects.count(), get_user_model().objects.count())
    again = movielens_load(ml100k)
    assert (again.events_created, again.videos_created, again.users_created) == (0, 0, 0)
    assert again.events_total == 5
    assert (WatchEvent.objects.count(), Video.objects.count(), get_user_model().objects.count()) == before


@pytest.mark.django_db
def test_ratings_file_option_loads_a_fold(ml100k, capsys):
    call_command("load_movielens", str(ml100k), "--ratings-file", "u1.base")
    assert WatchEvent.objects.count() == 2
    assert "2 new watch events of 2" in capsys.readouterr().out


@pytest.mark.django_db
def test_wrong_folders_give_one_clear_line(tmp_path):
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("load_movielens", str(tmp_path / "missing"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CommandError, match=r"does not look like MovieLens: expected u\.data \+ u\.item"):
        call_command("load_movielens", str(tmp_path))
    with pytest.raises(MovieLensError, match="is not a folder"):
        movielens_read(tmp_path / "notes.txt")
    assert WatchEvent.objects.count() == 0


@pytest.mark.django_db
def test_malformed_files_name_the_line_and_store_nothing(ml100k, ml_latest):
    (ml100k / "u.data").write_text("1\t1\t5\t881250949\n1\tx\t3\t881250950\n")
    with pytest.raises(CommandError, match=r"u\.data line 2: expected user, item, rating, timestamp"):
        call_command("load_movielens", str(ml100k))
    (ml100k / "u.data").write_text("1\t99\t5\t881250949\n")
    with pytest.raises(CommandError, match="unknown movie id 99"):
        call_command("load_movielens", str(ml100k))
    (ml_latest / "ratings.csv").write_text("userId,movieId,rating,timestamp\n7,10\n")
    with pytest.raises(CommandError, match=r"ratings\.csv line 2"):
        call_command("load_movielens", str(ml_latest))
    # all-or-nothing: the failed loads left no users, videos or events behind
    assert (WatchEvent.objects.count(), Video.objects.count(), get_user_model().objects.count()) == (0, 0, 0)


def _table_structure() -> set[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [WatchEvent._meta.db_table])
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass",
            [WatchEvent._meta.db_table],
        )
        return indexes | {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_first_import_rebuilds_every_index_and_constraint_on_postgresql(ml100k):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the bulk path is PostgreSQL's")
    structure = _table_structure()
    assert len(structure) >= 7  # primary key, four indexes, check, two foreign keys
    assert movielens_load(ml100k).events_created == 5  # an empty table: indexes dropped and rebuilt
    assert _table_structure() == structure
    # a watch stored since then (not from the file): the second import merges, skipping stored events
    WatchEvent.objects.create(
        user=get_user_model().objects.get(username="ml-1"), video=Video.objects.first(), completion=1
    )
    assert movielens_load(ml100k).events_created == 0
    assert WatchEvent.objects.count() == 6 and _table_structure() == structure
    # the rebuilt constraints still hold: a watch of a user that does not exist is refused
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        WatchEvent.objects.create(user_id=10**9, video=Video.objects.first(), completion=0.5)
    # file order is id order, and repeated ratings keep the first one
    ids = list(
        WatchEvent.objects.filter(source=WatchEvent.Source.IMPORT).order_by("id").values_list("watched_at", flat=True)
    )
    assert len(ids) == 5
