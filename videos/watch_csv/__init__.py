"""Watch data in and out as CSV: the one reader, validator and writer that ``manage.py
import_matrix``, the admin's upload and the admin's export all use.

Two formats:

``wide``  the reference program's matrix: a header ``user,<video title>,<video title>,...``, then
          one row per viewer; a cell holds completion on a 0..``scale`` scale (default 10) and an
          empty cell means "not watched" (``0`` is a watch that stopped at once).
``long``  one watch per row: ``user,video,completion[,watched_at]``; completion from 0 to 1 as in
          the API, ``watched_at`` in ISO 8601 (empty or missing: the time of the import).

Reading never stores anything: ``watch_csv_read`` returns the parsed cells and a list of problems,
each one line naming its row and column, so a person can fix the file before ``watch_csv_store``
writes it all in one transaction (all or nothing). User names and video titles are checked with the
models' own field rules; completion with the parser the API uses.

Cells that a spreadsheet would run as a formula (starting with ``= + - @``, a tab or a carriage
return) are written with a leading apostrophe; reading removes that apostrophe again, so an export
imports back unchanged.
"""

from videos.watch_csv.reading import (
    DEFAULT_SCALE,
    FORMATS,
    LONG_COLUMNS,
    MAX_PROBLEMS,
    MAX_UPLOAD_BYTES,
    WIDE_EXPORT_MAX_CELLS,
    WatchCell,
    WatchCsv,
    WatchCsvError,
    WatchCsvImportResult,
    WatchCsvPreview,
    spreadsheet_safe,
    watch_csv_read,
)
from videos.watch_csv.writing import watch_csv_export, watch_csv_import, watch_csv_preview, watch_csv_store

__all__ = [
    "DEFAULT_SCALE",
    "FORMATS",
    "LONG_COLUMNS",
    "MAX_PROBLEMS",
    "MAX_UPLOAD_BYTES",
    "WIDE_EXPORT_MAX_CELLS",
    "WatchCell",
    "WatchCsv",
    "WatchCsvError",
    "WatchCsvImportResult",
    "WatchCsvPreview",
    "spreadsheet_safe",
    "watch_csv_export",
    "watch_csv_import",
    "watch_csv_preview",
    "watch_csv_read",
    "watch_csv_store",
]
