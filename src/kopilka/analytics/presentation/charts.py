"""Charts as self-contained inline SVG: one <svg> element, no script, no external file, every text escaped.

A chart function returns a SafeString to put into a page as is (or to save as an .svg file). Data coordinates map
linearly onto a plot area framed by axes with "nice" ticks (steps of 1, 2 or 5 × 10ⁿ); series take the colours of
PALETTE in order.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")  # Tableau 10: tells apart for most colour-blind readers, prints in grey


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _span(values: Sequence[float]) -> tuple[float, float]:
    """The values' range with 5 % room on each side; a single value gets ±1."""
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    if high - low < 1e-12:
        return low - 1.0, high + 1.0
    room = (high - low) * 0.05
    return low - room, high + room


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values between low and high: the smallest round step that makes at most `count` + 2 of them."""
    if not high > low:
        return [low]
    raw = (high - low) / (max(count, 1) + 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= raw)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step + 1e-9) + 1)]


@dataclass(frozen=True)
class Frame:
    """A plot area inside a canvas and the data window it shows."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_span: tuple[float, float]
    y_span: tuple[float, float]

    def x(self, value: float) -> float:
        low, high = self.x_span
        return self.left + (value - low) / (high - low) * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        low, high = self.y_span
        return self.height - self.bottom - (value - low) / (high - low) * (self.height - self.top - self.bottom)


def _number(value: float) -> str:
    return f"{value:.1f}"


def _axes(frame: Frame, x_title: Any, y_title: Any) -> list[str]:
    """Axis lines, ticks with their values and the axis titles."""
    bottom, left = frame.height - frame.bottom, frame.left
    right, top = frame.width - frame.right, frame.top
    parts = [format_html('<path d="M{},{}H{}M{},{}V{}" stroke="#333" fill="none"/>', left, bottom, right,
                         left, bottom, top)]
    for value in ticks(*frame.x_span):
        x = _number(frame.x(value))
        parts.append(format_html('<path d="M{},{}v5" stroke="#333"/><text x="{}" y="{}" text-anchor="middle">{}'
                                 "</text>", x, bottom, x, bottom + 18, f"{value:g}"))
    for value in ticks(*frame.y_span):
        y = _number(frame.y(value))
        parts.append(format_html('<path d="M{},{}h-5" stroke="#333"/><text x="{}" y="{}" text-anchor="end" '
                                 'dominant-baseline="middle">{}</text>', left, y, left - 8, y, f"{value:g}"))
    middle_x, middle_y = _number((left + right) / 2), _number((top + bottom) / 2)
    parts.append(format_html('<text x="{}" y="{}" text-anchor="middle">{}</text>', middle_x, frame.height - 8,
                             x_title))
    parts.append(format_html('<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>',
                             middle_y, middle_y, y_title))
    return parts


def _legend(frame: Frame, labels: Sequence[Any]) -> list[str]:
    x = frame.width - frame.right + 16
    parts = []
    for index, label in enumerate(labels):
        y = frame.top + 20 * index
        parts.append(format_html('<rect x="{}" y="{}" width="12" height="12" fill="{}"/>'
                                 '<text x="{}" y="{}" dominant-baseline="middle">{}</text>',
                                 x, y, colour(index), x + 18, y + 6, label))
    return parts


def scatter_svg(points: Sequence[tuple[float, float]], series: Sequence[int], *, legend: Sequence[Any],
                x_title: Any, y_title: Any, title: Any = "", centres: Sequence[tuple[float, float]] = (),
                width: int = 760, height: int = 480) -> SafeString:
    """A scatter plot: one <circle> per point, coloured by its series (an index into `legend`); `centres` (one per
    series, optional) are drawn as crosses of the series' colour; the legend stands right of the plot."""
    xs = [p[0] for p in points] + [c[0] for c in centres]
    ys = [p[1] for p in points] + [c[1] for c in centres]
    frame = Frame(width, height, left=64, right=220, top=20, bottom=52, x_span=_span(xs), y_span=_span(ys))
    parts = [format_html('<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
                         'role="img" aria-label="{}" font-family="sans-serif" font-size="12">'
                         '<title>{}</title><rect width="100%" height="100%" fill="#fff"/>',
                         width, height, width, height, title, title)]
    parts += _axes(frame, x_title, y_title)
    parts += [format_html('<circle cx="{}" cy="{}" r="3" fill="{}" fill-opacity="0.65"/>',
                          _number(frame.x(x)), _number(frame.y(y)), colour(s)) for (x, y), s in zip(points, series,
                                                                                                strict=True)]
    for index, (x, y) in enumerate(centres):
        cx, cy = frame.x(x), frame.y(y)
        cross = f"M{cx - 8:.1f},{cy:.1f}h16M{cx:.1f},{cy - 8:.1f}v16"
        parts.append(format_html('<path d="{}" stroke="#fff" stroke-width="6"/><path d="{}" stroke="{}" '
                                 'stroke-width="3"/>', cross, cross, colour(index)))
    parts += _legend(frame, legend)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every piece above was built by format_html


def _open(width: int, height: int, title: Any) -> str:
    return format_html('<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" '
                       'role="img" aria-label="{}" font-family="sans-serif" font-size="12">'
                       '<title>{}</title><rect width="100%" height="100%" fill="#fff"/>',
                       width, height, width, height, title, title)


def _category_axes(frame: Frame, labels: Sequence[Any], y_title: Any, x_of) -> list[str]:
    """A value axis from the frame's y span and category labels under the plot (at most ~12 shown)."""
    bottom, left, right = frame.height - frame.bottom, frame.left, frame.width - frame.right
    parts = [format_html('<path d="M{},{}H{}M{},{}V{}" stroke="#333" fill="none"/>', left, bottom, right,
                         left, bottom, frame.top)]
    for value in ticks(*frame.y_span):
        y = _number(frame.y(value))
        parts.append(format_html('<path d="M{},{}H{}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end" '
                                 'dominant-baseline="middle">{}</text>', left, y, right, left - 8, y, f"{value:,.10g}"
                                 .replace(",", "\u202f")))
    every = max(1, math.ceil(len(labels) / 12))
    for index, label in enumerate(labels):
        if index % every == 0:
            parts.append(format_html('<text x="{}" y="{}" text-anchor="middle">{}</text>', _number(x_of(index)),
                                     bottom + 18, label))
    middle_y = _number((frame.top + bottom) / 2)
    parts.append(format_html('<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>',
                             middle_y, middle_y, y_title))
    return parts


def line_svg(labels: Sequence[Any], series: Sequence[tuple[Any, Sequence[float]]], *, y_title: Any,
             title: Any = "", width: int = 760, height: int = 300) -> SafeString:
    """Lines over categories (periods): one <polyline> per series, a point per category; the value axis starts at
    zero; the legend stands right of the plot."""
    values = [float(v) for _name, vs in series for v in vs] or [0.0]
    frame = Frame(width, height, left=72, right=170, top=16, bottom=40, x_span=(0, max(1, len(labels) - 1)),
                  y_span=(min(0.0, min(values)), max(values) * 1.05 or 1.0))
    parts = [_open(width, height, title), *_category_axes(frame, labels, y_title, frame.x)]
    for index, (_name, points) in enumerate(series):
        path = " ".join(f"{frame.x(i):.1f},{frame.y(float(v)):.1f}" for i, v in enumerate(points))
        parts.append(format_html('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>', path,
                                 colour(index)))
    parts += _legend(frame, [name for name, _values in series])
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every piece above was built by format_html


def bar_svg(labels: Sequence[Any], values: Sequence[float], *, y_title: Any, title: Any = "",
            width: int = 760, height: int = 300) -> SafeString:
    """One bar (<rect>) per category, from zero, with its value above it."""
    numbers = [float(v) for v in values]
    frame = Frame(width, height, left=72, right=24, top=24, bottom=40, x_span=(0, max(1, len(labels))),
                  y_span=(0.0, max(numbers or [0.0]) * 1.1 or 1.0))
    slot = (width - frame.left - frame.right) / max(1, len(labels))

    def centre(index: int) -> float:
        return frame.left + slot * (index + 0.5)

    parts = [_open(width, height, title), *_category_axes(frame, labels, y_title, centre)]
    for index, value in enumerate(numbers):
        top, bottom = frame.y(value), frame.y(0.0)
        parts.append(format_html('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/><text x="{}" y="{}" '
                                 'text-anchor="middle">{}</text>', _number(centre(index) - slot * 0.35),
                                 _number(top), _number(slot * 0.7), _number(bottom - top), colour(0),
                                 _number(centre(index)), _number(top - 4), f"{value:g}"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every piece above was built by format_html
