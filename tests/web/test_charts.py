"""Bar chart layout: bars in proportion, the longest spanning the plot, zero drawn as nothing."""

from crrt.web.charts import BAR_MAX, ROW, bar_chart


def test_longest_bar_spans_the_plot_and_others_are_in_proportion():
    chart = bar_chart("c", "Experts", [("EE", 8), ("ES", 4), ("LT", 0)])
    widths = [bar.width for bar in chart.bars]
    assert widths == [BAR_MAX, BAR_MAX / 2, 0.0]
    assert chart.total == 12


def test_a_small_count_stays_visible_next_to_a_large_one():
    chart = bar_chart("c", "Experts", [("big", 1000), ("small", 1)])
    assert chart.bars[1].width >= 2.0


def test_rows_are_stacked_and_the_picture_grows_with_them():
    chart = bar_chart("c", "Experts", [("a", 1), ("b", 2), ("c", 3)])
    assert [bar.y for bar in chart.bars] == [chart.bars[0].y + i * ROW for i in range(3)]
    assert chart.height > chart.bars[-1].y + chart.bar_height


def test_no_data_gives_an_empty_chart_not_a_division_by_zero():
    assert bar_chart("c", "Experts", []).bars == []
    assert [b.width for b in bar_chart("c", "Experts", [("a", 0), ("b", 0)]).bars] == [0, 0]
