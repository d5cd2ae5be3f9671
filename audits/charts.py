"""Small server-rendered SVG charts: horizontal bars, columns and lines.

No JavaScript and no library: the page works offline and prints. Each chart is an
`<svg role="img">` with a <title> and <desc> (read by screen readers), text labels on the
bars and points, colours that pass WCAG AA contrast against white, and every bar or point a
link to the rows behind it. Labels are escaped here; the result is safe to output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

INK = "#1a2230"
MUTED = "#566171"  # 6:1 on white
GRID = "#e1e5ea"
COLOURS = ("#1d4ed8", "#b45309", "#047857", "#7c3aed")  # blue, amber, green, violet: ≥ 4.5:1
TARGET = "#8a1c1c"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif"'

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str = ""  # the value as shown; defaults to the number
    href: str = ""


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Bar]
    colour: str = ""


@dataclass(frozen=True)
class Target:
    value: float
    label: str


@dataclass
class _Svg:
    title: str
    desc: str
    width: int
    height: int
    parts: list[str] = field(default_factory=list)

    def render(self, css_class: str) -> SafeString:
        n = next(_ids)
        head = (
            f'<svg class="chart {css_class}" viewBox="0 0 {self.width} {self.height}" '
            f'width="100%" role="img" aria-labelledby="chart-t{n} chart-d{n}" '
            f'xmlns="http://www.w3.org/2000/svg" {FONT} font-size="12">'
            f'<title id="chart-t{n}">{escape(self.title)}</title>'
            f'<desc id="chart-d{n}">{escape(self.desc)}</desc>'
        )
        return mark_safe(head + "".join(self.parts) + "</svg>")  # every label escaped above


def _nice(value: float) -> float:
    """Round an axis maximum up to 1, 2, 2.5 or 5 × a power of ten (ticks read well)."""
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def count_scale(top: float) -> tuple[float, int]:
    """Axis maximum and tick count for counts, so every tick is a whole number (a chart of
    1s and 2s must not read 0, 0, 1, 1, 2)."""
    if top <= 5:
        hi = max(1, math.ceil(top))
        return hi, hi
    hi = _nice(top)
    mantissa = hi / 10 ** math.floor(math.log10(hi))
    return hi, 4 if mantissa == 2 else 5


def _empty(x: float, y: float) -> str:
    return f'<text x="{x}" y="{y}" fill="{MUTED}">No data in this range</text>'


def _link(bar: Bar, inner: str, label: str) -> str:
    if not bar.href:
        return f"<g>{inner}</g>"
    return f'<a href="{escape(bar.href)}" aria-label="{escape(label)}">{inner}</a>'


def _text(bar: Bar, fmt: Callable[[float], str]) -> str:
    if bar.text:
        return bar.text
    return "—" if bar.value is None else fmt(bar.value)


def hbar_chart(
    *,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    max_value: float | None = None,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    colour: str = COLOURS[0],
    width: int = 560,
) -> SafeString:
    """One horizontal bar per row: label on the left, value at the end of the bar."""
    label_w, value_w, row_h, top = 210, 110, 26, 6
    height = top * 2 + row_h * max(len(bars), 1)
    svg = _Svg(title, desc, width, height)
    top_value = max_value or max((b.value or 0 for b in bars), default=0) or 1
    span = width - label_w - value_w
    if not bars:
        svg.parts.append(f'<text x="8" y="20" fill="{MUTED}">No data in this range</text>')
    for i, bar in enumerate(bars):
        y = top + i * row_h
        w = 0 if not bar.value else max(2, span * bar.value / top_value)
        shown = _text(bar, fmt)
        inner = (
            f'<rect x="{label_w}" y="{y + 5}" width="{span}" height="{row_h - 10}" '
            f'fill="#f2f4f7"/>'
            f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{label_w - 8}" y="{y + row_h / 2 + 4}" text-anchor="end" '
            f'fill="{INK}">{escape(bar.label)}</text>'
            f'<text x="{label_w + span + 8}" y="{y + row_h / 2 + 4}" fill="{INK}" '
            f'font-weight="600">{escape(shown)}</text>'
        )
        svg.parts.append(_link(bar, inner, f"{bar.label}: {shown}"))
    return svg.render("chart-hbar")


def _y_axis(
    svg: _Svg,
    *,
    left: int,
    right: int,
    top: int,
    bottom: int,
    lo: float,
    hi: float,
    fmt: Callable[[float], str],
    ticks: int = 4,
) -> Callable[[float], float]:
    def y_of(value: float) -> float:
        return bottom - (value - lo) / ((hi - lo) or 1) * (bottom - top)

    for k in range(ticks + 1):
        value = lo + (hi - lo) * k / ticks
        y = y_of(value)
        svg.parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(fmt(value))}</text>"
        )
    return y_of


def column_chart(
    *,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    colour: str = COLOURS[0],
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Vertical columns over categories (weeks), value printed above each column."""
    left, right, top, bottom = 48, width - 10, 18, height - 28
    svg = _Svg(title, desc, width, height)
    hi, ticks = count_scale(max((b.value or 0 for b in bars), default=0))
    y_of = _y_axis(
        svg,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        lo=0,
        hi=hi,
        fmt=lambda v: f"{v:,.0f}",
        ticks=ticks,
    )
    if not bars:
        svg.parts.append(_empty(left + 8, bottom - 8))
    slot = (right - left) / max(len(bars), 1)
    for i, bar in enumerate(bars):
        x = left + i * slot + slot * 0.18
        w = slot * 0.64
        y = y_of(bar.value or 0)
        shown = _text(bar, fmt)
        inner = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bottom - y:.1f}" '
            f'fill="{colour}" rx="2"/>'
            f'<text x="{x + w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="{INK}" '
            f'font-size="11">{escape(shown)}</text>'
            f'<text x="{x + w / 2:.1f}" y="{bottom + 16}" text-anchor="middle" fill="{MUTED}" '
            f'font-size="11">{escape(bar.label)}</text>'
        )
        svg.parts.append(_link(bar, inner, f"{bar.label}: {shown}"))
    return svg.render("chart-columns")


def line_chart(
    *,
    title: str,
    desc: str,
    series: Sequence[Series],
    lo: float = 0.0,
    hi: float = 1.0,
    fmt: Callable[[float], str] = lambda v: f"{v:.0%}",
    target: Target | None = None,
    width: int = 640,
    height: int = 240,
    ticks: int | None = None,
) -> SafeString:
    """Lines over shared x labels; gaps where a value is None; an optional target line.
    For counts pass hi and ticks from count_scale()."""
    left, right, top, bottom = 48, width - 100, 34, height - 28
    svg = _Svg(title, desc, width, height)
    if ticks is None:
        tenths = round((hi - lo) * 10)  # a tick every 10 points when the span allows (50–100 %)
        ticks = tenths if 2 <= tenths <= 10 and abs((hi - lo) * 10 - tenths) < 1e-9 else 4
    y_of = _y_axis(
        svg, left=left, right=right, top=top, bottom=bottom, lo=lo, hi=hi, fmt=fmt, ticks=ticks
    )
    labels = [b.label for b in series[0].points] if series else []
    if not labels:
        svg.parts.append(_empty(left + 8, bottom - 8))
    step = (right - left) / max(len(labels) - 1, 1)

    def x_of(i: int) -> float:
        return left + (i * step if len(labels) > 1 else (right - left) / 2)

    every = max(1, -(-len(labels) // 7))  # at most 7 x labels, so they never overlap
    for i, label in enumerate(labels):
        if i % every == 0 or i == len(labels) - 1:
            svg.parts.append(
                f'<text x="{x_of(i):.1f}" y="{bottom + 16}" text-anchor="middle" '
                f'fill="{MUTED}" font-size="11">{escape(label)}</text>'
            )
    if target is not None:
        y = y_of(target.value)
        svg.parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{TARGET}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{right + 6}" y="{y + 4:.1f}" fill="{TARGET}" font-weight="600">'
            f"{escape(target.label)}</text>"
        )
    for n, s in enumerate(series):
        colour = s.colour or COLOURS[n % len(COLOURS)]
        segments, current = [], []
        for i, point in enumerate(s.points):
            if point.value is None:
                if current:
                    segments.append(current)
                current = []
            else:
                current.append(f"{x_of(i):.1f},{y_of(point.value):.1f}")
        if current:
            segments.append(current)
        for seg in segments:
            svg.parts.append(
                f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5" stroke-linejoin="round"/>'
            )
        for i, point in enumerate(s.points):
            if point.value is None:
                continue
            shown = _text(point, fmt)
            dot = (
                f'<circle cx="{x_of(i):.1f}" cy="{y_of(point.value):.1f}" r="4.5" '
                f'fill="#fff" stroke="{colour}" stroke-width="2.5"/>'
            )
            svg.parts.append(_link(point, dot, f"{s.name}, {point.label}: {shown}"))
        # Legend above the plot, left to right, so it never meets the target label.
        lx = left + n * 150
        svg.parts.append(
            f'<line x1="{lx}" x2="{lx + 18}" y1="12" y2="12" stroke="{colour}" '
            f'stroke-width="3"/><circle cx="{lx + 9}" cy="12" r="3.5" fill="#fff" '
            f'stroke="{colour}" stroke-width="2"/>'
            f'<text x="{lx + 24}" y="16" fill="{INK}">{escape(s.name)}</text>'
        )
    return svg.render("chart-line")
