"""Small horizontal bar charts, laid out here and drawn by the templates (no JS).

Each bar is a row of text and a stretchable SVG bar, so the labels keep the page's type size
at any width (a scaled-down SVG made them 10 px on a phone), and each row can be a link
through to the list it counts.
"""

from __future__ import annotations

from dataclasses import dataclass

BAR_MAX = 100.0   # a bar's length, in percent of the plot
BAR_MIN = 1.5     # a non-zero count stays visible beside a large one


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: float
    href: str | None = None


@dataclass(frozen=True)
class BarChart:
    """A chart's bars, their lengths in percent of the plot; the template only draws them."""

    id: str
    title: str
    bars: list[Bar]
    total: int


def bar_chart(chart_id: str, title: str, rows: list[tuple[str, int, str | None]]) -> BarChart:
    """Lay out ``rows`` (label, count, link); the longest bar spans the plot, zero draws none."""
    top = max((value for _, value, _ in rows), default=0)
    bars = []
    for text, value, href in rows:
        width = BAR_MAX * value / top if top else 0.0
        bars.append(Bar(label=text, value=value, href=href,
                        width=round(max(width, BAR_MIN if value else 0.0), 1)))
    return BarChart(id=chart_id, title=title, bars=bars, total=sum(v for _, v, _ in rows))
