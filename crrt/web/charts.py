"""Small horizontal bar charts, laid out here and drawn as SVG by the templates (no JS)."""

from __future__ import annotations

from dataclasses import dataclass

LABEL_MIN, LABEL_MAX = 120, 300  # the label column, fitted to the longest label
CHAR_WIDTH = 7.2                 # an average character at the labels' 12.5 px
BAR_MAX = 124
VALUE_ROOM = 34
ROW = 26
BAR_HEIGHT = 16
PAD = 5


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    """A chart's geometry in a ``WIDTH`` wide viewBox; the template only draws it."""

    id: str
    title: str
    bars: list[Bar]
    total: int
    label_width: int

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * ROW + PAD

    @property
    def label_x(self) -> int:
        return self.label_width - 8

    @property
    def bar_x(self) -> int:
        return self.label_width

    @property
    def width(self) -> int:
        return self.label_width + BAR_MAX + VALUE_ROOM

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT

    @property
    def bar_max(self) -> int:
        return BAR_MAX


def bar_chart(chart_id: str, title: str, rows: list[tuple[str, int]]) -> BarChart:
    """Lay out ``rows`` (label, count); the longest bar spans the plot, zero stays a sliver."""
    top = max((value for _, value in rows), default=0)
    bars = []
    for index, (text, value) in enumerate(rows):
        width = BAR_MAX * value / top if top else 0.0
        bars.append(Bar(label=text, value=value, y=PAD + index * ROW,
                        width=round(max(width, 2.0 if value else 0.0), 1)))
    longest = max((len(text) for text, _ in rows), default=0)
    label_width = round(min(max(longest * CHAR_WIDTH + 16, LABEL_MIN), LABEL_MAX))
    return BarChart(id=chart_id, title=title, bars=bars, total=sum(v for _, v in rows),
                    label_width=label_width)
