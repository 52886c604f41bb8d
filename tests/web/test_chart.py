"""The server-side SVG bar chart: bars stack per group, heights are proportional, empty values draw nothing."""

from __future__ import annotations

import pytest

from hegui.web.chart import stacked_bars


def test_bars_stack_and_scale_to_the_tallest_group() -> None:
    chart = stacked_bars(["a", "b", "c"], {"x": [1, 0, 2], "y": [1, 0, 0]}, width=340, height=140)
    assert chart.max_value == 2
    heights = [(b.title, round(b.height, 1)) for b in chart.bars]
    assert heights == [("a x: 1", 50.0), ("a y: 1", 50.0), ("c x: 2", 100.0)]
    a_x, a_y = chart.bars[0], chart.bars[1]
    assert a_y.y + a_y.height == pytest.approx(a_x.y)  # y sits on top of x
    assert [name for _, name in chart.legend] == ["x", "y"]
    assert all(b.width <= 48 for b in chart.bars)


def test_all_zero_draws_no_bars() -> None:
    chart = stacked_bars(["a"], {"x": [0]})
    assert chart.bars == () and chart.max_value == 1
