"""Bar chart layout: bars in proportion, the longest spanning the plot, zero drawn as nothing."""

from crrt.web.charts import BAR_MAX, BAR_MIN, bar_chart


def test_longest_bar_spans_the_plot_and_others_are_in_proportion():
    chart = bar_chart("c", "Experts", [("EE", 8, "/experts?org=EE"), ("ES", 4, None),
                                       ("LT", 0, None)])
    assert [bar.width for bar in chart.bars] == [BAR_MAX, BAR_MAX / 2, 0.0]
    assert chart.total == 12
    assert chart.bars[0].href == "/experts?org=EE"


def test_a_small_count_stays_visible_next_to_a_large_one():
    chart = bar_chart("c", "Experts", [("big", 1000, None), ("small", 1, None)])
    assert chart.bars[1].width >= BAR_MIN


def test_no_data_gives_an_empty_chart_not_a_division_by_zero():
    assert bar_chart("c", "Experts", []).bars == []
    assert [b.width for b in bar_chart("c", "Experts", [("a", 0, None), ("b", 0, None)]).bars] \
        == [0, 0]
