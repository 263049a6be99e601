"""The alliance charts' value axis (alliance/charts.py): it fits the scores and the flag
threshold, so movement between 36 and 40 is visible, and stays on the 0–40 (or 0–10)
scale with whole-number ticks."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alliance.charts import value_axis


def ticks(axis):
    return list(range(axis["min"], axis["max"] + 1, axis["step"]))


def test_scores_near_the_top_get_an_axis_that_shows_their_movement():
    axis = value_axis([38, 39, 36, 40], top=40, marks=[36])
    assert axis == {"min": 32, "max": 40, "step": 1}
    # 36 → 40 spans half the chart's height, not a tenth of it.
    assert (40 - 36) / (axis["max"] - axis["min"]) == 0.5


def test_the_threshold_is_on_the_axis_even_when_every_score_is_above_it():
    axis = value_axis([39, 40, 40], top=40, marks=[30])
    assert axis["min"] <= 30 < axis["max"]


def test_a_wide_spread_keeps_whole_ticks_at_most_eight_intervals_apart():
    axis = value_axis([12, 40, 25], top=40, marks=[36])
    assert axis == {"min": 10, "max": 40, "step": 5}


def test_a_flat_series_does_not_fill_the_chart_edge_to_edge():
    axis = value_axis([40, 40], top=40, marks=[40])
    assert axis["max"] == 40 and axis["max"] - axis["min"] >= 8


def test_scores_at_the_bottom_stay_on_the_scale():
    assert value_axis([0, 1], top=40, marks=[0]) == {"min": 0, "max": 8, "step": 1}


def test_dimensions_fit_on_their_0_to_10_scale():
    assert value_axis([8, 9, 10, None], top=10, marks=[7]) == {"min": 6, "max": 10, "step": 1}


def test_with_no_scores_the_whole_scale():
    assert value_axis([None, None], top=40, marks=[36]) == {"min": 0, "max": 40, "step": 5}
    assert value_axis([], top=10, marks=[7]) == {"min": 0, "max": 10, "step": 2}


@given(
    st.lists(st.one_of(st.none(), st.floats(0, 40, allow_nan=False)), max_size=30),
    st.integers(0, 40),
)
def test_every_score_and_the_threshold_are_drawn_on_whole_ticks_within_0_to_40(values, threshold):
    axis = value_axis(values, top=40, marks=[threshold])
    assert 0 <= axis["min"] < axis["max"] <= 40
    assert isinstance(axis["min"], int) and isinstance(axis["max"], int) and isinstance(axis["step"], int)
    assert (axis["max"] - axis["min"]) % axis["step"] == 0 and len(ticks(axis)) <= 9
    scores = [v for v in values if v is not None]
    if scores:
        assert all(axis["min"] <= v <= axis["max"] for v in [*scores, threshold])


@pytest.mark.parametrize("top", [10, 40])
def test_the_axis_is_never_taller_than_the_scale(top):
    assert value_axis(list(range(top + 1)), top=top, marks=[0]) == {
        "min": 0, "max": top, "step": 2 if top == 10 else 5,
    }
