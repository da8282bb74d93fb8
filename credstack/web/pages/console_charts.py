"""Bar charts as inline SVG for the analytics page: no library, no script.

Each chart is one ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (its summary in
words) and a ``<title>`` per bar; the page puts the same numbers in a table beside it.
Text is escaped; colours are presentation attributes (the Content-Security-Policy allows no
inline styles) and meet 3:1 against the white background.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from html import escape
from typing import Final

BAR: Final = "#1f4e8c"
AXIS: Final = "#4a4a4a"
GRID: Final = "#c9ced6"
FONT: Final = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
_ids = itertools.count(1)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def nice_max(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _open(width: float, height: float, title: str, summary: str) -> tuple[list[str], str]:
    unique = f"chart{next(_ids)}"
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'aria-labelledby="{unique}-t" aria-describedby="{unique}-d" font-family="{FONT}">',
        f'<title id="{unique}-t">{_e(title)}</title>',
        f'<desc id="{unique}-d">{_e(summary)}</desc>',
    ]
    return head, unique


def vertical_bars(
    title: str,
    summary: str,
    bars: Sequence[tuple[str, float]],
    *,
    label_every: int = 1,
    describe: Callable[[str, float], str] | None = None,
) -> str:
    """Bars side by side (weeks, say); every ``label_every``-th bar is labelled below."""
    width, height, left, bottom, top = 720.0, 250.0, 44.0, 40.0, 12.0
    plot_w, plot_h = width - left - 8, height - top - bottom
    out, _unique = _open(width, height, title, summary)
    peak = nice_max(max((v for _, v in bars), default=0))
    for tick in (0.0, peak / 2, peak):
        y = top + plot_h - plot_h * tick / peak
        out.append(
            f'<line x1="{_n(left)}" x2="{_n(width - 8)}" y1="{_n(y)}" y2="{_n(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{_n(left - 6)}" y="{_n(y + 4)}" text-anchor="end" font-size="12" '
            f'fill="{AXIS}">{_e(_number(tick))}</text>'
        )
    slot = plot_w / max(len(bars), 1)
    for index, (label, value) in enumerate(bars):
        x = left + slot * index + slot * 0.15
        h = plot_h * value / peak
        said = describe(label, value) if describe else f"{label}: {_number(value)}"
        out.append(
            f'<rect x="{_n(x)}" y="{_n(top + plot_h - h)}" width="{_n(slot * 0.7)}" '
            f'height="{_n(h)}" fill="{BAR}"><title>{_e(said)}</title></rect>'
        )
        if index % max(label_every, 1) == 0:
            out.append(
                f'<text x="{_n(x + slot * 0.35)}" y="{_n(height - bottom + 18)}" '
                f'text-anchor="middle" font-size="12" fill="{AXIS}">{_e(_fit(label, 12))}</text>'
            )
    if not bars:
        out.append(
            f'<text x="{_n(width / 2)}" y="{_n(height / 2)}" text-anchor="middle">No data</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def horizontal_bars(
    title: str,
    summary: str,
    bars: Sequence[tuple[str, float]],
    *,
    value_text: Callable[[float], str] = _number,
    maximum: float | None = None,
) -> str:
    """One labelled bar per row (funnel steps, horizons), the value written after it."""
    label_w, bar_w, row_h, pad = 230.0, 380.0, 34.0, 10.0
    width = label_w + bar_w + 100
    height = pad * 2 + row_h * max(len(bars), 1)
    out, _unique = _open(width, height, title, summary)
    peak = maximum if maximum and maximum > 0 else max((v for _, v in bars), default=0) or 1.0
    for index, (label, value) in enumerate(bars):
        y = pad + row_h * index
        w = bar_w * min(value / peak, 1.0) if peak else 0.0
        shown = value_text(value)
        out.append(
            f'<text x="{_n(label_w - 8)}" y="{_n(y + row_h / 2 + 5)}" text-anchor="end" '
            f'font-size="13" fill="#1b1b1b">{_e(_fit(label, 30))}</text>'
        )
        out.append(
            f'<rect x="{_n(label_w)}" y="{_n(y + 6)}" width="{_n(max(w, 1.0))}" '
            f'height="{_n(row_h - 12)}" fill="{BAR}"><title>{_e(label)}: {_e(shown)}</title></rect>'
        )
        out.append(
            f'<text x="{_n(label_w + max(w, 1.0) + 6)}" y="{_n(y + row_h / 2 + 5)}" '
            f'font-size="13" fill="#1b1b1b">{_e(shown)}</text>'
        )
    if not bars:
        middle = f'x="{_n(width / 2)}" y="{_n(height / 2 + 5)}" text-anchor="middle"'
        out.append(f"<text {middle}>No data</text>")
    out.append("</svg>")
    return "\n".join(out)
