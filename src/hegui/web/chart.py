"""A bar chart as inline SVG, drawn on the server.

Why not a JavaScript chart library: the console's charts are a few dozen bars; SVG written by the
server needs no bundle, no build step and no script (the pages' CSP forbids scripts), renders in any
browser and in screenshots, and is escaped by the same template engine as every other page."""

from __future__ import annotations

from dataclasses import dataclass

PALETTE = ("#8b1a1a", "#d08a2e", "#2a7a9b", "#5a8f3c", "#7a4ea3", "#777777")


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, str], ...]  # x, text under each group
    legend: tuple[tuple[str, str], ...]  # color, series name
    max_value: int


def stacked_bars(
    groups: list[str], series: dict[str, list[int]], *, width: int = 640, height: int = 220
) -> Chart:
    """One stacked bar per group (e.g. per day), one colour per series (e.g. per action)."""
    names = list(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(groups))]
    top = max([1, *totals])
    plot_h, base_y = height - 40, height - 24
    step = (width - 40) / max(len(groups), 1)
    bar_w = min(max(step * 0.7, 2), 48)  # a few groups still look like bars, not blocks
    bars = []
    for i, group in enumerate(groups):
        y = float(base_y)
        for j, name in enumerate(names):
            value = series[name][i]
            if value:
                h = plot_h * value / top
                y -= h
                bars.append(
                    Bar(30 + i * step, y, bar_w, h, PALETTE[j % len(PALETTE)], f"{group} {name}: {value}")
                )
    labels = tuple((30 + i * step + bar_w / 2, g) for i, g in enumerate(groups))
    legend = tuple((PALETTE[j % len(PALETTE)], n) for j, n in enumerate(names))
    return Chart(width, height, tuple(bars), labels, legend, top)
