"""Synthetic watch data at any size, shaped like real watch logs, in the MovieLens ``ratings.csv`` layout.

    .venv/bin/python bench/make_synthetic.py --users 8000 --videos 4000 --events 1000000 --seed 1 \
        --out /tmp/synthetic-1m

writes ``ratings.csv`` (``userId,movieId,rating,timestamp``), ``movies.csv``
(``movieId,title,genres,duration_seconds``) and ``params.json`` (the parameters and the measured skews).
The folder loads like ml-latest-small: ``python manage.py load_movielens DIR`` or
``bench/retrain.py --dataset DIR --folds 0``. A rating is ``5 x completion`` (the loader divides by 5).

What makes it look like watch data rather than uniform noise:

* **Video popularity** is Zipf-like: the video of popularity rank r is picked with weight
  ``r ** -popularity_exponent`` (default 0.9), so a few videos take a large share of the watches.
* **Viewer activity** is heavy-tailed: watches per viewer follow a Pareto law (shape
  ``activity_shape``, default 1.3) with at least ``min_events`` (default 5) per viewer.
* **Tastes have category structure**: each viewer has a taste over ``categories`` (default 18) drawn
  from a Dirichlet with concentration ``taste_concentration`` (default 0.3: most viewers like a few
  categories). A watch picks a category from the viewer's taste (or, with probability ``explore``,
  from the catalog's overall mix), then a video of that category by popularity.
* **Completion depends on taste and length**: the logit of completion rises with the viewer's taste
  for the video's category and the video's quality, and falls with the log of its duration (long
  videos are abandoned more); a viewer bias and noise are added. Durations are log-normal around
  ``median_duration`` seconds (default 600), clipped to 20 s .. 3 h.
* **Timestamps**: each viewer joins at some point of a ``days``-long window (default 365) and watches
  from then on; rows are written per viewer in time order.

Nothing here reads real data: the output depends only on the parameters and the seed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DAY_S = 86_400
START_TIMESTAMP = 1_700_000_000  # 2023-11-14, a fixed origin so that the output is reproducible


@dataclass(frozen=True)
class SyntheticSpec:
    users: int
    videos: int
    events: int
    seed: int = 0
    categories: int = 18
    popularity_exponent: float = 0.9
    activity_shape: float = 1.3
    min_events: int = 5
    taste_concentration: float = 0.3
    explore: float = 0.15
    median_duration: float = 600.0
    days: int = 365

    def check(self) -> None:
        """Raise ValueError with one readable line when the parameters cannot make a data set."""
        if self.users < 1 or self.videos < 2 or self.events < 1:
            raise ValueError("users >= 1, videos >= 2 and events >= 1 are needed")
        if not 1 <= self.categories <= self.videos:
            raise ValueError("categories must be between 1 and the number of videos")
        if self.users * self.min_events > self.events:
            raise ValueError(
                f"{self.events} events cannot give {self.users} viewers {self.min_events} watches each "
                f"(needs at least {self.users * self.min_events}); lower --min-events or add events"
            )
        if self.events > self.users * self.videos // 2:
            raise ValueError("events must be at most half of users x videos (each viewer watches a video once)")
        if not 0.0 <= self.explore <= 1.0:
            raise ValueError("explore must be between 0 and 1")
        if self.popularity_exponent < 0 or self.activity_shape <= 0 or self.taste_concentration <= 0:
            raise ValueError("popularity exponent >= 0, activity shape > 0 and taste concentration > 0 are needed")
        if self.median_duration <= 0 or self.days < 1:
            raise ValueError("median duration and days must be positive")


@dataclass
class Catalog:
    popularity: np.ndarray  # (V,) weight of each video
    primary: np.ndarray  # (V,) primary category of each video
    secondary: np.ndarray  # (V,) second category, or -1
    duration: np.ndarray  # (V,) seconds
    quality: np.ndarray  # (V,) logit offset
    category_weight: np.ndarray  # (C,) share of the catalog's popularity per category


def make_catalog(spec: SyntheticSpec, rng: np.random.Generator) -> Catalog:
    v, c = spec.videos, spec.categories
    rank = rng.permutation(v) + 1  # video i has popularity rank rank[i]
    popularity = rank.astype(np.float64) ** -spec.popularity_exponent
    # Category sizes are skewed too (a few big genres, many small ones); every category has a video.
    size_weight = (np.arange(c) + 1.0) ** -0.7
    primary = rng.choice(c, size=v, p=size_weight / size_weight.sum())
    primary[rng.permutation(v)[:c]] = np.arange(c)
    secondary = np.where(rng.random(v) < 0.3, rng.integers(0, c, size=v), -1)
    secondary[secondary == primary] = -1
    duration = np.clip(rng.lognormal(np.log(spec.median_duration), 0.9, size=v), 20, 3 * 3600).round()
    quality = rng.normal(0.0, 0.5, size=v)
    category_weight = np.bincount(primary, weights=popularity, minlength=c)
    return Catalog(popularity, primary, secondary, duration, quality, category_weight / category_weight.sum())


def events_per_user(spec: SyntheticSpec, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed watch counts, at least ``min_events`` and at most half the catalog each, summing to events."""
    cap = max(spec.min_events, spec.videos // 2)
    weight = rng.pareto(spec.activity_shape, size=spec.users) + 1.0
    counts = np.full(spec.users, spec.min_events, dtype=np.int64)
    remaining = spec.events - int(counts.sum())
    for _ in range(50):
        if remaining <= 0:
            break
        open_ = counts < cap
        share = np.where(open_, weight, 0.0)
        extra = rng.multinomial(remaining, share / share.sum())
        counts = np.minimum(counts + extra, cap)
        remaining = spec.events - int(counts.sum())
    if remaining:
        raise ValueError("could not spread the events over the viewers; add viewers or videos")
    return counts


def _category_tables(catalog: Catalog, categories: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per category: its member videos (primary or secondary) and their cumulative popularity."""
    tables = []
    for cat in range(categories):
        members = np.flatnonzero((catalog.primary == cat) | (catalog.secondary == cat))
        tables.append((members, np.cumsum(catalog.popularity[members])))
    return tables


def _sample_videos(
    users: np.ndarray, cum_taste: np.ndarray, catalog: Catalog, tables: list, explore: float, rng: np.random.Generator
) -> np.ndarray:
    """One video per entry of ``users``: category from the viewer's taste (or the catalog mix), then by popularity."""
    n = len(users)
    category = np.empty(n, dtype=np.int64)
    from_taste = rng.random(n) >= explore
    idx = np.flatnonzero(from_taste)
    for start in range(0, len(idx), 500_000):  # bounded memory: (block x categories) comparisons
        block = idx[start : start + 500_000]
        draws = rng.random(len(block))[:, None]
        category[block] = np.minimum((cum_taste[users[block]] < draws).sum(axis=1), cum_taste.shape[1] - 1)
    others = np.flatnonzero(~from_taste)
    category[others] = rng.choice(len(catalog.category_weight), size=len(others), p=catalog.category_weight)
    videos = np.empty(n, dtype=np.int64)
    for cat, (members, cum) in enumerate(tables):
        where = np.flatnonzero(category == cat)
        if len(where):
            pick = np.searchsorted(cum, rng.random(len(where)) * cum[-1], side="right")
            videos[where] = members[np.minimum(pick, len(members) - 1)]
    return videos


def sample_watches(
    spec: SyntheticSpec, catalog: Catalog, taste: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(user, video) pairs, each pair once, ``counts[u]`` per viewer."""
    users = np.repeat(np.arange(spec.users, dtype=np.int64), counts)
    cum_taste = np.cumsum(taste, axis=1)
    tables = _category_tables(catalog, spec.categories)
    videos = _sample_videos(users, cum_taste, catalog, tables, spec.explore, rng)
    for round_ in range(100):
        order = np.lexsort((videos, users))
        key = users[order] * spec.videos + videos[order]
        repeated = order[1:][key[1:] == key[:-1]]
        if len(repeated) == 0:
            return users, videos
        if round_ < 10:
            videos[repeated] = _sample_videos(users[repeated], cum_taste, catalog, tables, spec.explore, rng)
        else:  # heavy viewers near the cap: finish with uniformly drawn videos
            videos[repeated] = rng.integers(0, spec.videos, size=len(repeated))
    raise ValueError("could not draw distinct videos for every viewer; add videos")


def completions(
    spec: SyntheticSpec,
    catalog: Catalog,
    taste: np.ndarray,
    users: np.ndarray,
    videos: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Completion in [0, 1]: higher for liked categories and good videos, lower for long videos."""
    affinity = taste[users, catalog.primary[videos]] * spec.categories  # 1.0 = an average taste
    user_bias = rng.normal(0.0, 0.4, size=spec.users)
    logit = (
        0.2
        + 0.7 * np.log(affinity + 0.05)
        - 0.45 * np.log(catalog.duration[videos] / spec.median_duration)
        + catalog.quality[videos]
        + user_bias[users]
        + rng.normal(0.0, 0.8, size=len(users))
    )
    completion = 1.0 / (1.0 + np.exp(-logit))
    # A share of the watches are finished outright, more often for short videos.
    finished = rng.random(len(users)) < 0.25 * completion
    return np.round(np.where(finished, 1.0, completion), 3)


def timestamps(spec: SyntheticSpec, counts: np.ndarray, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    window = spec.days * DAY_S
    joined = rng.random(spec.users) * 0.8 * window
    offsets = joined[users] + rng.random(len(users)) * (window - joined[users])
    return (START_TIMESTAMP + offsets).astype(np.int64)


def generate(spec: SyntheticSpec) -> dict[str, np.ndarray]:
    """The data set as arrays: ``users``, ``videos``, ``completion``, ``timestamp`` and the catalog's."""
    spec.check()
    rng = np.random.default_rng(spec.seed)
    catalog = make_catalog(spec, rng)
    taste = rng.dirichlet(np.full(spec.categories, spec.taste_concentration), size=spec.users)
    counts = events_per_user(spec, rng)
    users, videos = sample_watches(spec, catalog, taste, counts, rng)
    completion = completions(spec, catalog, taste, users, videos, rng)
    stamp = timestamps(spec, counts, users, rng)
    order = np.lexsort((stamp, users))
    return {
        "users": users[order],
        "videos": videos[order],
        "completion": completion[order],
        "timestamp": stamp[order],
        "primary": catalog.primary,
        "secondary": catalog.secondary,
        "duration": catalog.duration,
        "taste": taste,
    }


def skews(data: dict[str, np.ndarray], spec: SyntheticSpec) -> dict[str, float]:
    """Measured shape of the data: popularity and activity concentration, taste focus, length effect."""
    video_counts = np.sort(np.bincount(data["videos"], minlength=spec.videos))[::-1]
    user_counts = np.sort(np.bincount(data["users"], minlength=spec.users))[::-1]
    top_videos = max(1, spec.videos // 10)
    top_users = max(1, spec.users // 10)
    watched_category = data["primary"][data["videos"]]
    per_user = np.zeros((spec.users, spec.categories))
    np.add.at(per_user, (data["users"], watched_category), 1.0)
    top_share = per_user.max(axis=1) / np.maximum(per_user.sum(axis=1), 1.0)
    long_ = data["duration"][data["videos"]] > spec.median_duration * 2
    short = data["duration"][data["videos"]] < spec.median_duration / 2
    return {
        "top_10pct_videos_share_of_watches": float(video_counts[:top_videos].sum() / video_counts.sum()),
        "top_10pct_viewers_share_of_watches": float(user_counts[:top_users].sum() / user_counts.sum()),
        "mean_top_category_share_per_viewer": float(top_share.mean()),
        "uniform_top_category_share": float(1.0 / spec.categories),
        "mean_completion": float(data["completion"].mean()),
        "mean_completion_short_videos": float(data["completion"][short].mean()) if short.any() else float("nan"),
        "mean_completion_long_videos": float(data["completion"][long_].mean()) if long_.any() else float("nan"),
    }


def write(data: dict[str, np.ndarray], spec: SyntheticSpec, out: Path) -> None:
    """Write ``ratings.csv``, ``movies.csv`` and ``params.json`` into ``out`` (created if missing)."""
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    names = [f"Category {i + 1:02d}" for i in range(spec.categories)]
    genres = [
        names[p] if s < 0 else f"{names[p]}|{names[s]}" for p, s in zip(data["primary"], data["secondary"], strict=True)
    ]
    pd.DataFrame(
        {
            "movieId": np.arange(1, spec.videos + 1),
            "title": [f"Synthetic video {i}" for i in range(1, spec.videos + 1)],
            "genres": genres,
            "duration_seconds": data["duration"].astype(np.int64),
        }
    ).to_csv(out / "movies.csv", index=False)
    pd.DataFrame(
        {
            "userId": data["users"] + 1,
            "movieId": data["videos"] + 1,
            "rating": np.round(data["completion"] * 5.0, 3),
            "timestamp": data["timestamp"],
        }
    ).to_csv(out / "ratings.csv", index=False, chunksize=1_000_000)
    (out / "params.json").write_text(
        json.dumps({"generator": "bench/make_synthetic.py", **asdict(spec), "skews": skews(data, spec)}, indent=2)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, required=True, help="number of viewers")
    parser.add_argument("--videos", type=int, required=True, help="number of videos")
    parser.add_argument("--events", type=int, required=True, help="number of watches (one per viewer and video)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed and sizes, same files)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created if missing)")
    defaults = SyntheticSpec(users=1, videos=2, events=1)
    parser.add_argument("--categories", type=int, default=defaults.categories, help="number of categories")
    parser.add_argument(
        "--popularity-exponent", type=float, default=defaults.popularity_exponent, help="Zipf exponent of popularity"
    )
    parser.add_argument(
        "--activity-shape", type=float, default=defaults.activity_shape, help="Pareto shape of viewer activity"
    )
    parser.add_argument("--min-events", type=int, default=defaults.min_events, help="fewest watches per viewer")
    parser.add_argument(
        "--taste-concentration",
        type=float,
        default=defaults.taste_concentration,
        help="Dirichlet concentration of tastes (lower: more focused viewers)",
    )
    parser.add_argument(
        "--explore", type=float, default=defaults.explore, help="share of watches outside the viewer's tastes"
    )
    parser.add_argument(
        "--median-duration", type=float, default=defaults.median_duration, help="median video length, seconds"
    )
    parser.add_argument("--days", type=int, default=defaults.days, help="length of the time window, days")
    args = parser.parse_args(argv)
    spec = SyntheticSpec(
        users=args.users,
        videos=args.videos,
        events=args.events,
        seed=args.seed,
        categories=args.categories,
        popularity_exponent=args.popularity_exponent,
        activity_shape=args.activity_shape,
        min_events=args.min_events,
        taste_concentration=args.taste_concentration,
        explore=args.explore,
        median_duration=args.median_duration,
        days=args.days,
    )
    started = time.perf_counter()
    try:
        data = generate(spec)
    except ValueError as error:
        parser.exit(2, f"make_synthetic: {error}\n")
    write(data, spec, args.out)
    summary = {"out": str(args.out), "events": len(data["users"]), "seconds": time.perf_counter() - started}
    print(json.dumps({**summary, "skews": skews(data, spec)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
