"""Small server-side SVG charts for the operator's console (dashboard, model version pages).

The charts are plain ``<svg>`` markup drawn here, so they need no JavaScript, no charting library
and no CDN, and they satisfy the site's Content-Security-Policy (colours are presentation
attributes, never ``style=``). Each chart carries ``data-chart`` (its kind) and each drawn series,
bar or cell a ``data-series`` / ``data-bar`` / ``data-cell`` attribute, which the browser test
counts. Every mark has a ``<title>``: hovering shows its exact value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colour-blind-safe palette (Okabe & Ito), then greys.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#555555")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    """One line: ``points`` are (x, y) pairs; y may be None (a gap)."""

    name: str
    points: Sequence[tuple[float, float | None]]
    dashed: bool = False
    colour: str | None = None


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 48
    right: int = 12
    top: int = 14
    bottom: int = 34
    x_min: float = 0.0
    x_max: float = 1.0
    y_min: float = 0.0
    y_max: float = 1.0
    extra: list[str] = field(default_factory=list)

    def x(self, value: float) -> float:
        span = (self.x_max - self.x_min) or 1.0
        return self.left + (value - self.x_min) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        span = (self.y_max - self.y_min) or 1.0
        return self.height - self.bottom - (value - self.y_min) / span * (self.height - self.top - self.bottom)


def _fmt(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.0f} %"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.0f}"
    if magnitude >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}" if magnitude >= 0.01 else f"{value:.1e}"


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * step:
            step *= factor
            break
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _open(kind: str, width: int, height: int, label: str, *, natural: bool = False) -> list[str]:
    """``natural``: drawn at its own pixel size (shrunk, never enlarged, by the page's CSS)."""
    size = f'width="{width}" height="{height}"' if natural else 'width="100%"'
    return [
        f'<svg class="chart chart-{kind}" data-chart="{kind}" viewBox="0 0 {width} {height}" '
        f'{size} preserveAspectRatio="xMinYMin meet" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}</title>",
    ]


def _empty(kind: str, width: int, height: int, label: str, message: str) -> SafeString:
    parts = _open(kind, width, height, label)
    parts.append(
        f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" fill="#666" {FONT}>'
        f"{escape(message)}</text></svg>"
    )
    return mark_safe("".join(parts))  # every text inside is escaped


def _axes(frame: _Frame, y_ticks: list[float], percent: bool, x_label: str, y_label: str) -> list[str]:
    parts = []
    for tick in y_ticks:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e3e3" stroke-width="1"/>'
            f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555" {FONT}>'
            f"{escape(_fmt(tick, percent))}</text>"
        )
    base = frame.height - frame.bottom
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" stroke="#888"/>'
        f'<line x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" y2="{base}" stroke="#888"/>'
    )
    if x_label:
        parts.append(
            f'<text x="{(frame.left + frame.width - frame.right) / 2:.0f}" y="{frame.height - 2}" '
            f'text-anchor="middle" fill="#333" {FONT}>{escape(x_label)}</text>'
        )
    if y_label:
        parts.append(
            f'<text x="10" y="{frame.top + (base - frame.top) / 2:.0f}" text-anchor="middle" fill="#333" {FONT} '
            f'transform="rotate(-90 10 {frame.top + (base - frame.top) / 2:.0f})">{escape(y_label)}</text>'
        )
    return parts


def _legend(series: Sequence[Series], colours: list[str], width: int) -> tuple[list[str], int]:
    """Legend rows above the plot; returns the markup and the height it takes."""
    parts: list[str] = []
    x: float = 48
    row = 0
    for s, colour in zip(series, colours, strict=True):
        label_w = 22 + 6.2 * len(s.name)
        if x + label_w > width and x > 48:
            x, row = 48, row + 1
        y = 10 + row * 15
        dash = ' stroke-dasharray="4 3"' if s.dashed else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 16}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2.5"{dash}/>'
            f'<text x="{x + 20}" y="{y + 4}" fill="#333" {FONT}>{escape(s.name)}</text>'
        )
        x += label_w + 12
    return parts, (row + 1) * 15 + 6


def line_chart(
    *,
    series: Sequence[Series],
    label: str,
    x_label: str = "",
    y_label: str = "",
    width: int = 640,
    height: int = 260,
    percent: bool = False,
    y_zero: bool = True,
    x_ticks: Sequence[tuple[float, str]] | None = None,
    empty_message: str = "No data yet.",
) -> SafeString:
    """Lines over a shared numeric x axis (epochs, version ids, days)."""
    drawn = [s for s in series if any(y is not None and math.isfinite(y) for _x, y in s.points)]
    if not drawn:
        return _empty("line", width, height, label, empty_message)
    xs = [x for s in drawn for x, y in s.points if y is not None]
    ys = [y for s in drawn for _x, y in s.points if y is not None and math.isfinite(y)]
    colours = [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(drawn)]
    legend, legend_h = _legend(drawn, colours, width)
    y_low = min(0.0, min(ys)) if y_zero else min(ys)
    y_high = max(ys)
    if y_high == y_low:
        y_high = y_low + (abs(y_low) or 1.0)
    pad = (y_high - y_low) * 0.05
    frame = _Frame(
        width=width,
        height=height,
        top=14 + legend_h,
        x_min=min(xs),
        x_max=max(xs) if max(xs) > min(xs) else min(xs) + 1,
        y_min=y_low if y_zero else y_low - pad,
        y_max=y_high + pad,
    )
    parts = _open("line", width, height, label)
    parts += legend
    parts += _axes(frame, _nice_ticks(frame.y_min, frame.y_max), percent, x_label, y_label)
    ticks = x_ticks if x_ticks is not None else [(x, _fmt(x)) for x in _integer_ticks(frame.x_min, frame.x_max)]
    base = height - frame.bottom
    for x, text in ticks:
        parts.append(
            f'<text x="{frame.x(x):.1f}" y="{base + 14}" text-anchor="middle" fill="#555" {FONT}>{escape(text)}</text>'
        )
    for s, colour in zip(drawn, colours, strict=True):
        points = [(x, y) for x, y in s.points if y is not None and math.isfinite(y)]
        path = " ".join(f"{'M' if i == 0 else 'L'}{frame.x(x):.1f},{frame.y(y):.1f}" for i, (x, y) in enumerate(points))
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        parts.append(
            f'<path data-series="{escape(s.name)}" d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        for x, y in points:
            parts.append(
                f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="2.6" fill="{colour}">'
                f"<title>{escape(s.name)}: {escape(_fmt(x))} → {escape(_value(y, percent))}</title></circle>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text inside is escaped


def _value(y: float, percent: bool) -> str:
    return f"{y * 100:.1f} %" if percent else f"{y:.4g}"


def _integer_ticks(low: float, high: float, most: int = 10) -> list[float]:
    lo, hi = math.ceil(low), math.floor(high)
    if hi < lo:
        return [low]
    step = max(1, math.ceil((hi - lo + 1) / most))
    return [float(v) for v in range(lo, hi + 1, step)]


def bar_chart(
    *,
    bars: Sequence[tuple[str, float]],
    label: str,
    x_label: str = "",
    y_label: str = "",
    width: int = 640,
    height: int = 220,
    colour: str = PALETTE[0],
    label_every: int = 1,
    empty_message: str = "No data yet.",
) -> SafeString:
    """Vertical bars with a text label under every ``label_every``-th bar (days, score bins)."""
    if not bars or not any(value for _l, value in bars):
        return _empty("bar", width, height, label, empty_message)
    top = max(value for _l, value in bars)
    frame = _Frame(width=width, height=height, y_min=0.0, y_max=top * 1.05)
    parts = _open("bar", width, height, label)
    parts += _axes(frame, _nice_ticks(0.0, frame.y_max), False, x_label, y_label)
    slot = (width - frame.left - frame.right) / len(bars)
    base = height - frame.bottom
    for i, (text, value) in enumerate(bars):
        x = frame.left + i * slot + slot * 0.1
        y = frame.y(value)
        parts.append(
            f'<rect data-bar="{escape(text)}" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" '
            f'height="{max(base - y, 0):.1f}" fill="{colour}">'
            f"<title>{escape(text)}: {escape(_fmt(value))}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + slot * 0.4:.1f}" y="{base + 14}" text-anchor="middle" fill="#555" {FONT}>'
                f"{escape(text)}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text inside is escaped


def _heat_colour(value: float) -> str:
    """White (0) to dark blue (1)."""
    v = min(max(value, 0.0), 1.0)
    r = round(247 - v * (247 - 8))
    g = round(251 - v * (251 - 48))
    b = round(255 - v * (255 - 107))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    label: str,
    marked: Sequence[Sequence[bool]] | None = None,
    cell: int = 20,
    empty_message: str = "No data yet.",
) -> SafeString:
    """A rows × columns grid coloured by value in [0, 1]; None cells are hatched grey. ``marked``
    cells get a dark outline (e.g. the videos a viewer watched)."""
    if not rows or not columns:
        return _empty("heatmap", 320, 120, label, empty_message)
    left = min(140, 12 + 6 * max(len(r) for r in rows))
    top = min(120, 12 + 6 * max(len(c) for c in columns))
    width = max(left + cell * len(columns) + 10, left + 5 * 34 + 10)
    height = top + cell * len(rows) + 34
    parts = _open("heatmap", width, height, label, natural=True)
    for j, name in enumerate(columns):
        x = left + j * cell + cell / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top - 4}" fill="#333" {FONT} transform="rotate(-60 {x:.1f} {top - 4})">'
            f"{escape(_clip(name))}</text>"
        )
    for i, name in enumerate(rows):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 4}" y="{y + cell * 0.7:.1f}" text-anchor="end" fill="#333" {FONT}>'
            f"{escape(_clip(name))}</text>"
        )
        for j, value in enumerate(values[i]):
            x = left + j * cell
            fill = "#d9d9d9" if value is None else _heat_colour(value)
            shown = "–" if value is None else f"{value * 100:.0f} %"
            outline = ' stroke="#222" stroke-width="1.5"' if marked and marked[i][j] else ' stroke="#fff"'
            parts.append(
                f'<rect data-cell="{i},{j}" x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}"{outline}>'
                f"<title>{escape(name)} × {escape(columns[j])}: {shown}</title></rect>"
            )
    legend_y = top + cell * len(rows) + 8
    for k, share in enumerate((0.0, 0.25, 0.5, 0.75, 1.0)):
        x = left + k * 34
        parts.append(
            f'<rect x="{x}" y="{legend_y}" width="12" height="12" fill="{_heat_colour(share)}" stroke="#999"/>'
            f'<text x="{x + 15}" y="{legend_y + 10}" fill="#333" {FONT}>{share * 100:.0f}%</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text inside is escaped


def _clip(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
