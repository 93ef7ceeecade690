"""Reading and checking watch-data CSV files (see ``videos.watch_csv`` for the formats)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Field
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from videos.models import Video
from videos.validators import parse_completion

Format = Literal["wide", "long"]
FORMATS: tuple[str, ...] = ("wide", "long")
LONG_COLUMNS = ("user", "video", "completion", "watched_at")
LONG_REQUIRED = ("user", "video", "completion")
DEFAULT_SCALE = 10.0
# Problems listed in full; beyond this only their number is reported.
MAX_PROBLEMS = 100
# Uploads larger than this are refused before they are read.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# The wide format has one cell per viewer and video; larger matrices are exported in the long format.
WIDE_EXPORT_MAX_CELLS = 2_000_000
# How far ahead of the server's clock a watched_at may be (clock skew), as in the API.
FUTURE_TOLERANCE = timedelta(minutes=5)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class WatchCsvError(ValueError):
    """The file cannot be imported; ``problems`` lists every line found, ``str()`` is the first."""

    def __init__(self, problems: list[str], total: int | None = None):
        self.problems = problems
        self.total = total if total is not None else len(problems)
        message = problems[0] if problems else _("The file cannot be imported.")
        if self.total > 1:
            message += " " + _("(%(n)d problems in all.)") % {"n": self.total}
        super().__init__(message)


@dataclass(frozen=True)
class WatchCell:
    """One watch to store: ``row`` is the file's line number (the header is row 1)."""

    row: int
    username: str
    title: str
    completion: float
    watched_at: datetime | None = None


@dataclass
class WatchCsv:
    """What a file holds: the cells to store and the problems found (empty when it can be stored)."""

    format: str
    cells: list[WatchCell] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    usernames: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and bool(self.cells)

    def problem(self, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(message)

    def error(self) -> WatchCsvError:
        return WatchCsvError(self.problems, self.problem_count)


@dataclass(frozen=True)
class WatchCsvPreview:
    """A parsed file next to the database: which viewers and videos an import would create."""

    parsed: WatchCsv
    new_users: list[str]
    new_videos: list[str]


@dataclass(frozen=True)
class WatchCsvImportResult:
    users_created: int
    videos_created: int
    events_created: int


def spreadsheet_safe(value: str) -> str:
    """``value`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _unescape(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _decode(data: bytes, parsed: WatchCsv) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        parsed.problem(_("Row 1: the file is UTF-16 text; save it as “CSV UTF-8” (comma-separated) and upload again."))
        return None
    try:
        text = data.decode("utf-8-sig")  # a UTF-8 byte order mark (as Excel writes) is dropped
    except UnicodeDecodeError as exc:
        row = data[: exc.start].count(b"\n") + 1
        parsed.problem(
            _("Row %(row)d: byte 0x%(byte)02x is not UTF-8 text; save the file as “CSV UTF-8” and upload again.")
            % {"row": row, "byte": data[exc.start]}
        )
        return None
    if "\x00" in text:
        row = text[: text.index("\x00")].count("\n") + 1
        parsed.problem(_("Row %(row)d: the file holds NUL bytes; it is not a CSV text file.") % {"row": row})
        return None
    return text


def _rows(text: str, parsed: WatchCsv) -> list[list[str]] | None:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        parsed.problem(_("The file is not valid CSV: %(error)s.") % {"error": exc})
        return None
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        parsed.problem(_("The file is empty: it needs a header row."))
        return None
    header = rows[0]
    if len(header) == 1:
        for delimiter, name in ((";", _("semicolons")), ("\t", _("tabs")), ("|", _("vertical bars"))):
            if delimiter in header[0]:
                parsed.problem(
                    _("Row 1: the columns are separated by %(name)s, not commas; save the file as comma-separated CSV.")
                    % {"name": name}
                )
                return None
    return rows


def _detect(header: list[str]) -> str:
    names = [h.strip().lower() for h in header]
    return "long" if len(names) >= 2 and names[0] == "user" and names[1] == "video" else "wide"


def _field_problem(model_field: Field, value: str) -> str | None:
    """The model field's own verdict on ``value`` (max_length, validators), as one sentence."""
    try:
        model_field.clean(value, None)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


def _short(value: str, limit: int = 40) -> str:
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")


def watch_csv_read(*, data: bytes | str, format: str = "auto", scale: float = DEFAULT_SCALE) -> WatchCsv:
    """Parse and check a CSV file without storing anything.

    ``format``: ``"wide"``, ``"long"`` or ``"auto"`` (long when the header starts ``user,video``).
    ``scale``: the value of a wide cell that means "watched to the end". Every problem found is
    recorded (up to ``MAX_PROBLEMS`` in full); ``ok`` tells whether the file can be stored.
    """
    if format not in (*FORMATS, "auto"):
        raise ValueError(f"format must be one of {FORMATS} or 'auto', got {format!r}")
    parsed = WatchCsv(format=format if format != "auto" else "wide")
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        parsed.problem(_("Scale must be a positive number."))
        return parsed
    text = data if isinstance(data, str) else _decode(data, parsed)
    if text is None:
        return parsed
    rows = _rows(text.removeprefix("\ufeff"), parsed)
    if rows is None:
        return parsed
    if format == "auto":
        parsed.format = _detect(rows[0])
    if parsed.format == "long":
        _read_long(rows, parsed)
    else:
        _read_wide(rows, parsed, float(scale))
    if not parsed.cells and not parsed.problem_count:
        parsed.problem(_("The file holds no completion values."))
    return parsed


def _check_user(parsed: WatchCsv, where: str, name: str) -> bool:
    if not name:
        parsed.problem(_("%(where)s: empty user name.") % {"where": where})
        return False
    problem = _field_problem(get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD), name)
    if problem:
        parsed.problem(
            _("%(where)s: %(value)s is not a valid user name: %(problem)s")
            % {"where": where, "value": _short(name), "problem": problem}
        )
        return False
    return True


def _check_title(parsed: WatchCsv, where: str, title: str) -> bool:
    if not title:
        parsed.problem(_("%(where)s: empty video title.") % {"where": where})
        return False
    problem = _field_problem(Video._meta.get_field("title"), title)
    if problem:
        parsed.problem(
            _("%(where)s: %(value)s is not a valid video title: %(problem)s")
            % {"where": where, "value": _short(title), "problem": problem}
        )
        return False
    return True


def _read_wide(rows: list[list[str]], parsed: WatchCsv, scale: float) -> None:
    header = [_unescape(h.strip()) for h in rows[0]]
    if len(header) < 2:
        parsed.problem(_("The file needs a header row: a user column, then one column per video."))
        return
    titles_ok = True
    seen_titles: set[str] = set()
    for col, title in enumerate(header[1:], start=2):
        if not _check_title(parsed, _("Row 1, column %(col)d") % {"col": col}, title):
            titles_ok = False
        elif title in seen_titles:
            parsed.problem(
                _("Row 1, column %(col)d: duplicate video titles in the header (%(title)s again).")
                % {"col": col, "title": _short(title)}
            )
            titles_ok = False
        seen_titles.add(title)
    if not titles_ok:
        return
    parsed.titles = header[1:]
    seen_users: set[str] = set()
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            parsed.problem(
                _("Row %(row)d: %(n)d cells but the header has %(m)d columns.")
                % {"row": line_no, "n": len(row), "m": len(header)}
            )
            continue
        username = _unescape(row[0].strip())
        if not _check_user(parsed, _("Row %(row)d, column 1") % {"row": line_no}, username):
            continue
        if username in seen_users:
            parsed.problem(_("Row %(row)d: user %(user)s appears twice.") % {"row": line_no, "user": username})
            continue
        seen_users.add(username)
        parsed.usernames.append(username)
        for col, raw in enumerate(row[1:], start=2):
            raw = raw.strip()
            if not raw:
                continue  # empty: not watched (a 0 is a watch that stopped at once)
            where = {"row": line_no, "col": col, "user": username, "video": header[col - 1], "value": raw}
            try:
                value = float(raw)
            except ValueError:
                parsed.problem(
                    _("Row %(row)d (%(user)s), column %(col)d (%(video)s): %(value)r is not a number.") % where
                )
                continue
            if not math.isfinite(value) or not 0 <= value <= scale:
                parsed.problem(
                    _("Row %(row)d (%(user)s), column %(col)d (%(video)s): %(value)s is outside 0..%(scale)g.")
                    % {**where, "scale": scale}
                )
                continue
            parsed.cells.append(WatchCell(line_no, username, header[col - 1], min(value / scale, 1.0)))


def _read_long(rows: list[list[str]], parsed: WatchCsv) -> None:
    header = [h.strip().lower() for h in rows[0]]
    expected = ", ".join(LONG_COLUMNS)
    bad_header = False
    for col, name in enumerate(header, start=1):
        if name not in LONG_COLUMNS:
            parsed.problem(
                _("Row 1, column %(col)d: unknown column %(name)s; the columns are %(expected)s.")
                % {"col": col, "name": _short(rows[0][col - 1].strip()), "expected": expected}
            )
            bad_header = True
        elif header.index(name) != col - 1:
            parsed.problem(_("Row 1, column %(col)d: column %(name)s appears twice.") % {"col": col, "name": name})
            bad_header = True
    for name in LONG_REQUIRED:
        if name not in header:
            parsed.problem(
                _("Row 1: the column %(name)s is missing; the columns are %(expected)s.")
                % {"name": name, "expected": expected}
            )
            bad_header = True
    if bad_header:
        return
    index = {name: header.index(name) for name in header}
    now = timezone.now()
    users: dict[str, None] = {}
    titles: dict[str, None] = {}
    checked_users: dict[str, bool] = {}
    checked_titles: dict[str, bool] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            parsed.problem(
                _("Row %(row)d: %(n)d cells but the header has %(m)d columns.")
                % {"row": line_no, "n": len(row), "m": len(header)}
            )
            continue

        def where(name: str, line_no: int = line_no) -> str:
            return _("Row %(row)d, column %(col)d (%(name)s)") % {"row": line_no, "col": index[name] + 1, "name": name}

        username = _unescape(row[index["user"]].strip())
        if username not in checked_users:
            checked_users[username] = _check_user(parsed, where("user"), username)
        elif not checked_users[username]:
            parsed.problem(_("%(where)s: the same bad user name again.") % {"where": where("user")})
        title = _unescape(row[index["video"]].strip())
        if title not in checked_titles:
            checked_titles[title] = _check_title(parsed, where("video"), title)
        elif not checked_titles[title]:
            parsed.problem(_("%(where)s: the same bad video title again.") % {"where": where("video")})
        raw = row[index["completion"]].strip()
        completion = None
        if not raw:
            parsed.problem(
                _("%(where)s: empty; write 0 for a video that was opened but not watched.")
                % {"where": where("completion")}
            )
        else:
            try:
                completion = parse_completion(raw)
            except ValidationError as exc:
                parsed.problem(
                    _("%(where)s: %(value)s — %(problem)s")
                    % {"where": where("completion"), "value": _short(raw), "problem": " ".join(exc.messages)}
                )
        watched_at = None
        if "watched_at" in index:
            watched_at, problem = _parse_watched_at(row[index["watched_at"]].strip(), now)
            if problem:
                parsed.problem(f"{where('watched_at')}: {problem}")
                completion = None
        if completion is None or not checked_users[username] or not checked_titles[title]:
            continue
        users.setdefault(username)
        titles.setdefault(title)
        parsed.cells.append(WatchCell(line_no, username, title, completion, watched_at))
    parsed.usernames = list(users)
    parsed.titles = list(titles)


def _parse_watched_at(raw: str, now: datetime) -> tuple[datetime | None, str | None]:
    if not raw:
        return None, None
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        return None, _("%(value)s is not a date and time; write ISO 8601, e.g. 2026-01-31T18:30:00Z.") % {
            "value": _short(raw)
        }
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now + FUTURE_TOLERANCE:
        return None, _("%(value)s is in the future.") % {"value": _short(raw)}
    return value, None
