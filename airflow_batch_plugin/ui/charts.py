"""Inline SVG charts for the monitoring view (no JavaScript, no external assets)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: One colour per job status, in lifecycle order (waiting greys, starting blues, outcomes).
STATUS_COLOURS = {
    "SUBMITTED": "#b0b7c3",
    "PENDING": "#8d96a6",
    "RUNNABLE": "#e8a33d",
    "STARTING": "#7fb2e5",
    "RUNNING": "#2f7fd1",
    "SUCCEEDED": "#3c9b4f",
    "FAILED": "#cf3f3f",
}

#: Colours of compute environment and job queue statuses.
RESOURCE_COLOURS = {
    "VALID": "#3c9b4f",
    "INVALID": "#cf3f3f",
    "CREATING": "#7fb2e5",
    "UPDATING": "#7fb2e5",
    "DELETING": "#e8a33d",
    "DELETED": "#8d96a6",
}


def stacked_bars(
    rows: Sequence[tuple[str, Mapping[str, int]]],
    statuses: Sequence[str],
    *,
    width: int = 640,
    bar_height: int = 22,
    label_width: int = 190,
) -> str:
    """Return an SVG of one horizontal bar per row, split by status, scaled to the largest row.

    Each segment carries a ``<title>`` (status and count) and a ``data-status`` attribute; a
    legend follows the bars. Labels are escaped.
    """
    gap = 8
    legend_height = 24
    plot_width = width - label_width - 60
    largest = max((sum(counts.get(status, 0) for status in statuses) for _, counts in rows), default=0)
    height = len(rows) * (bar_height + gap) + legend_height + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" aria-label="Jobs by status per queue">'
    ]
    for number, (label, counts) in enumerate(rows):
        y = number * (bar_height + gap)
        total = sum(counts.get(status, 0) for status in statuses)
        parts.append(
            f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" '
            f'class="chart-label">{escape(label)}</text>'
        )
        x = float(label_width)
        for status in statuses:
            count = counts.get(status, 0)
            if not count or not largest:
                continue
            segment = plot_width * count / largest
            parts.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(segment, 1.0):.1f}" height="{bar_height}" '
                f'fill="{STATUS_COLOURS.get(status, "#999")}" data-status="{escape(status)}" '
                f'data-count="{count}"><title>{escape(label)}: {count} {escape(status)}</title></rect>'
            )
            x += segment
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + bar_height * 0.7:.1f}" class="chart-total">{total}</text>'
        )
    legend_y = len(rows) * (bar_height + gap) + gap
    x = 0.0
    for status in statuses:
        parts.append(
            f'<rect x="{x:.1f}" y="{legend_y}" width="12" height="12" '
            f'fill="{STATUS_COLOURS.get(status, "#999")}"></rect>'
            f'<text x="{x + 16:.1f}" y="{legend_y + 10}" class="chart-legend">{escape(status.lower())}</text>'
        )
        x += 16 + 7 * len(status) + 12
    parts.append("</svg>")
    return "".join(parts)
