"""Load a MovieLens data set as watch data (for evaluation and benchmarks).

Supported layouts, read from a folder the user gives:

* MovieLens 100K: ``u.data`` (tab-separated ``user item rating timestamp``) and ``u.item``
  (``|``-separated, latin-1, id|title|date|video date|url|19 genre flags), genres from ``u.genre``;
* ml-latest-small: ``ratings.csv`` (``userId,movieId,rating,timestamp``) and ``movies.csv``
  (``movieId,title,genres`` with genres separated by ``|``, and an optional ``duration_seconds``
  column, which ``bench/make_synthetic.py`` writes).

A rating r becomes completion r / max rating. Users are named ``ml-<id>``, videos carry the
external id ``movielens:<id>`` and events the client event id ``movielens:<id>``, so loading the
same folder twice stores everything once. Ratings are read into numpy arrays (millions of rows fit
easily); on PostgreSQL the events are written with ``COPY``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from videos.models import Category, Video, WatchEvent

EXTERNAL_PREFIX = "movielens:"
USER_PREFIX = "ml-"


class MovieLensError(ValueError):
    """The folder is not a MovieLens data set this loader understands."""


@dataclass(frozen=True)
class Movie:
    movie_id: int
    title: str
    genres: list[str]
    duration_seconds: int = 0


@dataclass(frozen=True)
class Ratings:
    """All ratings as parallel arrays, in file order."""

    user_id: np.ndarray  # int64
    movie_id: np.ndarray  # int64
    rating: np.ndarray  # float64
    timestamp: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.user_id)


@dataclass(frozen=True)
class MovieLensData:
    movies: list[Movie]
    ratings: Ratings
    max_rating: float
    layout: str


@dataclass(frozen=True)
class LoadResult:
    layout: str
    users_created: int
    videos_created: int
    events_created: int
    events_total: int


def movielens_read(path: str | Path, *, ratings_file: str | None = None) -> MovieLensData:
    """Parse a MovieLens folder; ``ratings_file`` picks e.g. ``u1.base`` instead of ``u.data``."""
    folder = Path(path)
    if not folder.is_dir():
        raise MovieLensError(f"{folder} is not a folder.")
    if (folder / "u.item").exists() and (folder / (ratings_file or "u.data")).exists():
        return _read_100k(folder, ratings_file or "u.data")
    if (folder / "movies.csv").exists() and (folder / (ratings_file or "ratings.csv")).exists():
        return _read_latest(folder, ratings_file or "ratings.csv")
    raise MovieLensError(
        f"{folder} does not look like MovieLens: expected u.data + u.item (MovieLens 100K) "
        "or ratings.csv + movies.csv (ml-latest-small)."
    )


def _read_100k(folder: Path, ratings_file: str) -> MovieLensData:
    genre_names: list[str] = []
    if (folder / "u.genre").exists():
        for line in (folder / "u.genre").read_text(encoding="latin-1").splitlines():
            if "|" in line:
                genre_names.append(line.rsplit("|", 1)[0])
    movies = []
    for line_no, line in enumerate((folder / "u.item").read_text(encoding="latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) < 5:
            raise MovieLensError(f"u.item line {line_no}: expected |-separated fields.")
        flags = parts[5:]
        genres = [genre_names[i] if i < len(genre_names) else f"genre {i}" for i, f in enumerate(flags) if f == "1"]
        movies.append(Movie(int(parts[0]), parts[1].strip() or f"Movie {parts[0]}", genres))
    ratings = _parse_ratings(folder / ratings_file, delimiter="\t", header=False)
    return MovieLensData(movies, ratings, max_rating=5.0, layout="ml-100k")


def _read_latest(folder: Path, ratings_file: str) -> MovieLensData:
    movies = []
    with (folder / "movies.csv").open(encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            genres = [g for g in (row.get("genres") or "").split("|") if g and g != "(no genres listed)"]
            try:
                duration = max(int(float(row.get("duration_seconds") or 0)), 0)
                movies.append(Movie(int(row["movieId"]), (row["title"] or "").strip(), genres, duration))
            except (KeyError, TypeError, ValueError):
                raise MovieLensError(f"movies.csv line {line_no}: expected movieId, title, genres.") from None
    ratings = _parse_ratings(folder / ratings_file, delimiter=",", header=True)
    return MovieLensData(movies, ratings, max_rating=5.0, layout="ml-latest-small")


def _parse_ratings(path: Path, *, delimiter: str, header: bool) -> Ratings:
    """Read ``user, item, rating, timestamp`` rows fast; on a bad row, name its line."""
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=0 if header else None,
            usecols=[0, 1, 2, 3],
            names=["user", "item", "rating", "timestamp"],
            dtype={"user": "int64", "item": "int64", "rating": "float64", "timestamp": "float64"},
            encoding="latin-1",
            skip_blank_lines=True,
        )
    except (ValueError, pd.errors.ParserError):
        raise MovieLensError(_first_bad_line(path, delimiter=delimiter, header=header)) from None
    if frame.isna().to_numpy().any():
        raise MovieLensError(_first_bad_line(path, delimiter=delimiter, header=header))
    return Ratings(
        user_id=frame["user"].to_numpy(np.int64),
        movie_id=frame["item"].to_numpy(np.int64),
        rating=frame["rating"].to_numpy(np.float64),
        timestamp=frame["timestamp"].to_numpy(np.float64).astype(np.int64),
    )


def _first_bad_line(path: Path, *, delimiter: str, header: bool) -> str:
    with path.open(encoding="latin-1", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        if header:
            next(reader, None)
        for line_no, row in enumerate(reader, start=2 if header else 1):
            if not row:
                continue
            try:
                int(row[0]), int(row[1]), float(row[2]), int(float(row[3]))
            except (IndexError, ValueError):
                return f"{path.name} line {line_no}: expected user, item, rating, timestamp."
    return f"{path.name}: expected user, item, rating, timestamp on every line."


def _store_videos(data: MovieLensData, batch_size: int) -> tuple[int, dict[int, int]]:
    """Create the missing categories and videos; return (videos created, movie id -> video pk)."""
    categories = {}
    for name in sorted({g for m in data.movies for g in m.genres}):
        categories[name], _ = Category.objects.get_or_create(name=name)
    existing = dict(Video.objects.filter(external_id__startswith=EXTERNAL_PREFIX).values_list("external_id", "pk"))
    taken_titles = set(Video.objects.values_list("title", flat=True))
    new_videos = []
    for movie in data.movies:
        key = f"{EXTERNAL_PREFIX}{movie.movie_id}"
        if key in existing:
            continue
        title = movie.title
        if title in taken_titles:  # MovieLens repeats a few titles; ours are unique
            title = f"{title} [#{movie.movie_id}]"
        taken_titles.add(title)
        new_videos.append(
            Video(
                title=title[:255],
                external_id=key,
                category=categories.get(movie.genres[0]) if movie.genres else None,
                tags=", ".join(movie.genres)[:255],
                duration_seconds=movie.duration_seconds,
            )
        )
    Video.objects.bulk_create(new_videos, batch_size=batch_size)
    stored = Video.objects.filter(external_id__startswith=EXTERNAL_PREFIX).values_list("external_id", "pk")
    return len(new_videos), {int(key[len(EXTERNAL_PREFIX) :]): pk for key, pk in stored}


def _store_users(user_ids: np.ndarray, batch_size: int) -> tuple[int, dict[int, int]]:
    """Create the missing ``ml-<id>`` users; return (users created, MovieLens id -> user pk)."""
    User = get_user_model()
    names = {f"{USER_PREFIX}{uid}" for uid in np.unique(user_ids).tolist()}
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    missing = sorted(names - existing)
    unusable = make_password(None)  # every imported account has no usable password
    User.objects.bulk_create([User(username=name, password=unusable) for name in missing], batch_size=batch_size)
    stored = User.objects.filter(username__in=names).values_list("username", "pk")
    return len(missing), {int(name[len(USER_PREFIX) :]): pk for name, pk in stored}


def _lookup(mapping: dict[int, int], keys: np.ndarray) -> np.ndarray:
    """``mapping[k]`` for every k of ``keys`` as an array (-1 where a key is unknown)."""
    known = np.fromiter(mapping.keys(), dtype=np.int64, count=len(mapping))
    values = np.fromiter(mapping.values(), dtype=np.int64, count=len(mapping))
    order = np.argsort(known)
    known, values = known[order], values[order]
    where = np.clip(np.searchsorted(known, keys), 0, max(len(known) - 1, 0))
    found = (known[where] == keys) if len(known) else np.zeros(len(keys), dtype=bool)
    return np.where(found, values[where] if len(known) else -1, -1)


def _events_frame(data: MovieLensData, user_pk: np.ndarray, video_pk: np.ndarray) -> pd.DataFrame:
    """The events as numbers only (the database formats the time and the client event id), in file
    order; a repeated (user, movie) keeps its first rating, as the stored events' unique client
    event id would."""
    ratings = data.ratings
    key = user_pk.astype(np.int64) * (int(ratings.movie_id.max(initial=0)) + 1) + ratings.movie_id
    _unique, first = np.unique(key, return_index=True)
    keep = np.sort(first)
    return pd.DataFrame(
        {
            "user_id": user_pk[keep],
            "video_id": video_pk[keep],
            "completion": np.clip(ratings.rating[keep] / data.max_rating, 0.0, 1.0),
            "timestamp": ratings.timestamp[keep],
            "movie_id": ratings.movie_id[keep],
        }
    )


_COLUMNS = "user_id, video_id, completion, watched_at, source, client_event_id"


def _write_events(frame: pd.DataFrame, batch_size: int) -> None:
    """Store the events, skipping those already stored (same user and client event id)."""
    if connection.vendor == "postgresql":
        _copy_events(frame)
        return
    source = str(WatchEvent.Source.IMPORT)
    watched = pd.to_datetime(frame.timestamp, unit="s", utc=True)
    WatchEvent.objects.bulk_create(
        (
            WatchEvent(
                user_id=user_id,
                video_id=video_id,
                completion=completion,
                watched_at=when.to_pydatetime(),
                source=source,
                client_event_id=f"{EXTERNAL_PREFIX}{movie_id}",
            )
            for user_id, video_id, completion, when, movie_id in zip(
                frame.user_id.tolist(),
                frame.video_id.tolist(),
                frame.completion.tolist(),
                watched,
                frame.movie_id.tolist(),
                strict=True,
            )
        ),
        batch_size=batch_size,
        ignore_conflicts=True,
    )


def _copy_events(frame: pd.DataFrame) -> None:
    """PostgreSQL: COPY the numbers into a temporary table, then one INSERT (in file order) that
    formats the rest and skips stored events. Into an empty events table (a first import) the
    table's indexes (but the primary key) and foreign keys are dropped for the INSERT and rebuilt
    after it, in the same transaction (other sessions wait for it, then see everything at once):
    building an index once is several times faster than updating it a million times, and one
    validation query replaces a million deferred foreign-key checks."""
    table = WatchEvent._meta.db_table
    with connection.cursor() as cursor:
        # A second load in the same transaction (tests, scripts) finds the table of the first one.
        cursor.execute("DROP TABLE IF EXISTS movielens_events")
        cursor.execute(
            "CREATE TEMPORARY TABLE movielens_events (n bigserial, user_id bigint, video_id bigint, "
            "completion double precision, ts bigint, movie_id bigint) ON COMMIT DROP"
        )
        columns = "user_id, video_id, completion, ts, movie_id"
        with cursor.cursor.copy(f"COPY movielens_events ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            for start in range(0, len(frame), 500_000):
                buffer = io.StringIO()
                frame.iloc[start : start + 500_000].to_csv(buffer, header=False, index=False)
                copy.write(buffer.getvalue())
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table})")
        rebuild = _drop_secondary_structures(cursor, table) if cursor.fetchone()[0] else []
        # Nothing stored yet, nothing repeated in the frame: no conflict to look for.
        skip_stored = "" if rebuild else " ON CONFLICT DO NOTHING"
        cursor.execute(
            f"INSERT INTO {table} ({_COLUMNS}) SELECT user_id, video_id, completion, to_timestamp(ts), %s, "
            f"%s || movie_id FROM movielens_events ORDER BY n{skip_stored}",
            [str(WatchEvent.Source.IMPORT), EXTERNAL_PREFIX],
        )
        for statement in rebuild:
            cursor.execute(statement)


def _drop_secondary_structures(cursor: Any, table: str) -> list[str]:
    """Drop ``table``'s indexes (but the primary key and those behind constraints) and its foreign
    keys; return the statements that create them again, as the catalog defines them."""
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = %s::regclass AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [table],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    foreign_keys = cursor.fetchall()
    quoted = connection.ops.quote_name(table)
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # index builds sort in memory
    # Run the checks still pending from this transaction's earlier writes (the users and videos
    # just created): a table with pending trigger events cannot be altered.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for name, _definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}")
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    return (
        [definition for _name, definition in indexes]
        + [
            f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            for name, definition in foreign_keys
        ]
        + ["SET CONSTRAINTS ALL DEFERRED"]
    )


@transaction.atomic
def movielens_load(path: str | Path, *, ratings_file: str | None = None, batch_size: int = 5000) -> LoadResult:
    """Store a MovieLens folder as users, videos (genres as categories) and watch events. Idempotent."""
    data = movielens_read(path, ratings_file=ratings_file)
    videos_created, video_pks = _store_videos(data, batch_size)
    users_created, user_pks = _store_users(data.ratings.user_id, batch_size)
    video_pk = _lookup(video_pks, data.ratings.movie_id)
    unknown = np.flatnonzero(video_pk < 0)
    if len(unknown):
        raise MovieLensError(f"rating for unknown movie id {int(data.ratings.movie_id[unknown[0]])}.")
    user_pk = _lookup(user_pks, data.ratings.user_id)

    before = WatchEvent.objects.filter(client_event_id__startswith=EXTERNAL_PREFIX).count()
    _write_events(_events_frame(data, user_pk, video_pk), batch_size)
    after = WatchEvent.objects.filter(client_event_id__startswith=EXTERNAL_PREFIX).count()
    return LoadResult(
        layout=data.layout,
        users_created=users_created,
        videos_created=videos_created,
        events_created=after - before,
        events_total=len(data.ratings),
    )
