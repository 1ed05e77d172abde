"""Server-rendered SVG charts for the analytics dashboard (no JavaScript, no CDN).

Each function returns `markupsafe.Markup` holding one `<svg>` element with a
`viewBox` (it scales to its container), a `<title>` for screen readers, and
every label escaped. Colours come from `PALETTE` in series order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

__all__ = ["PALETTE", "hbar_chart", "stacked_bars"]

PALETTE = ("#0b5cad", "#e07b00", "#1e6b35", "#8e44ad", "#b3261e", "#5b6475")


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def stacked_bars(
    title: str,
    days: Sequence[date],
    series: dict[str, Sequence[float]],
    *,
    width: int = 640,
    height: int = 240,
) -> Markup:
    """Vertical bars per day, stacked by series (e.g. channel), with a legend."""
    left, bottom, top = 40, 36, 24
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(values[i] for values in series.values()) for i in range(len(days))]
    peak = max(totals, default=0) or 1
    step = plot_w / max(1, len(days))
    bar = max(1.0, step * 0.75)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img"><title>{escape(title)}</title>'
    ]
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee7"/>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#5b6475">{_fmt(peak * fraction)}</text>'
        )
    label_every = max(1, len(days) // 8)
    for i, day in enumerate(days):
        x = left + i * step + (step - bar) / 2
        y = top + plot_h
        for k, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(name)} '
                f"{day.strftime('%d/%m')}: {_fmt(value)}</title></rect>"
            )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" font-size="10" '
                f'text-anchor="middle" fill="#5b6475">{day.strftime("%d/%m")}</text>'
            )
    x = left
    for k, name in enumerate(series):
        parts.append(
            f'<rect x="{x}" y="{height - 12}" width="10" height="10" '
            f'fill="{PALETTE[k % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{x + 14}" y="{height - 3}" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(
    title: str,
    rows: Sequence[tuple[str, float]],
    *,
    width: int = 640,
    label_width: int = 300,
    color: str = PALETTE[0],
) -> Markup:
    """Horizontal bars, one per (label, value) row, value printed at the bar's end."""
    row_h = 22
    height = max(1, len(rows)) * row_h + 10
    peak = max((v for _, v in rows), default=0) or 1
    plot_w = width - label_width - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img"><title>{escape(title)}</title>'
    ]
    if not rows:
        parts.append('<text x="4" y="16" font-size="12" fill="#5b6475">Không có dữ liệu</text>')
    for i, (label, value) in enumerate(rows):
        y = 5 + i * row_h
        shown = label if len(label) <= 48 else label[:47] + "…"
        w = plot_w * value / peak
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" font-size="11" '
            f'text-anchor="end"><title>{escape(label)}</title>{escape(shown)}</text>'
        )
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{max(w, 1):.1f}" '
            f'height="{row_h - 8}" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{label_width + w + 4:.1f}" y="{y + 14}" font-size="11">{_fmt(value)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
