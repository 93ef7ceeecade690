"""Load a MovieLens data set as watch data (for evaluation and benchmarks).

Supported layouts, read from a folder the user gives:

* MovieLens 100K: ``u.data`` (tab-separated ``user item rating timestamp``) and ``u.item``
  (``|``-separated, latin-1, id|title|date|video date|url|19 genre flags), genres from ``u.genre``;
* ml-latest-small: ``ratings.csv`` (``userId,movieId,rating,timestamp``) and ``movies.csv``
  (``movieId,title,genres`` with genres separated by ``|``).

A rating r becomes completion r / max rating. Users are named ``ml-<id>``, videos carry the
external id ``movielens:<id>`` and events the client event id ``movielens:<id>``, so loading the
same folder twice stores everything once.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

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


@dataclass(frozen=True)
class Rating:
    user_id: int
    movie_id: int
    rating: float
    timestamp: int


@dataclass(frozen=True)
class MovieLensData:
    movies: list[Movie]
    ratings: list[Rating]
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
    ratings = list(_parse_ratings(folder / ratings_file, delimiter="\t", header=False))
    return MovieLensData(movies, ratings, max_rating=5.0, layout="ml-100k")


def _read_latest(folder: Path, ratings_file: str) -> MovieLensData:
    movies = []
    with (folder / "movies.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            genres = [g for g in row.get("genres", "").split("|") if g and g != "(no genres listed)"]
            movies.append(Movie(int(row["movieId"]), row["title"].strip(), genres))
    ratings = list(_parse_ratings(folder / ratings_file, delimiter=",", header=True))
    return MovieLensData(movies, ratings, max_rating=5.0, layout="ml-latest-small")


def _parse_ratings(path: Path, *, delimiter: str, header: bool) -> Iterator[Rating]:
    with path.open(encoding="latin-1", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        if header:
            next(reader, None)
        for line_no, row in enumerate(reader, start=2 if header else 1):
            if not row:
                continue
            try:
                yield Rating(int(row[0]), int(row[1]), float(row[2]), int(float(row[3])))
            except (IndexError, ValueError):
                raise MovieLensError(f"{path.name} line {line_no}: expected user, item, rating, timestamp.") from None


@transaction.atomic
def movielens_load(path: str | Path, *, ratings_file: str | None = None, batch_size: int = 5000) -> LoadResult:
    """Store a MovieLens folder as users, videos (genres as categories) and watch events. Idempotent."""
    data = movielens_read(path, ratings_file=ratings_file)
    User = get_user_model()

    categories = {}
    for name in sorted({g for m in data.movies for g in m.genres}):
        categories[name], _ = Category.objects.get_or_create(name=name)

    existing_videos = dict(
        Video.objects.filter(external_id__startswith=EXTERNAL_PREFIX).values_list("external_id", "pk")
    )
    taken_titles = set(Video.objects.values_list("title", flat=True))
    new_videos = []
    for movie in data.movies:
        key = f"{EXTERNAL_PREFIX}{movie.movie_id}"
        if key in existing_videos:
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
            )
        )
    Video.objects.bulk_create(new_videos, batch_size=batch_size)
    video_pk = dict(Video.objects.filter(external_id__startswith=EXTERNAL_PREFIX).values_list("external_id", "pk"))

    user_names = {f"{USER_PREFIX}{r.user_id}" for r in data.ratings}
    existing_users = set(User.objects.filter(username__in=user_names).values_list("username", flat=True))
    missing = sorted(user_names - existing_users)
    User.objects.bulk_create(
        [User(username=name, password=make_password(None)) for name in missing], batch_size=batch_size
    )
    user_pk = dict(User.objects.filter(username__in=user_names).values_list("username", "pk"))

    before = WatchEvent.objects.filter(client_event_id__startswith=EXTERNAL_PREFIX).count()
    events = []
    for r in data.ratings:
        video = video_pk.get(f"{EXTERNAL_PREFIX}{r.movie_id}")
        if video is None:
            raise MovieLensError(f"rating for unknown movie id {r.movie_id}.")
        events.append(
            WatchEvent(
                user_id=user_pk[f"{USER_PREFIX}{r.user_id}"],
                video_id=video,
                completion=min(max(r.rating / data.max_rating, 0.0), 1.0),
                watched_at=datetime.fromtimestamp(r.timestamp, tz=UTC),
                source=WatchEvent.Source.IMPORT,
                client_event_id=f"{EXTERNAL_PREFIX}{r.movie_id}",
            )
        )
    WatchEvent.objects.bulk_create(events, batch_size=batch_size, ignore_conflicts=True)
    after = WatchEvent.objects.filter(client_event_id__startswith=EXTERNAL_PREFIX).count()
    return LoadResult(
        layout=data.layout,
        users_created=len(missing),
        videos_created=len(new_videos),
        events_created=after - before,
        events_total=len(data.ratings),
    )
