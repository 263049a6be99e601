"""The value axis of the alliance charts (the client page's trend charts, the clinic
dashboard's). A fixed 0–40 axis squeezes the movement that matters most, between 36 and
40, into a sliver at the top; the axis fits the data instead, so a fall from 39 to 36
is plain to see, and takes in the flag threshold, so the threshold's line is always on
the chart. Computed here, in Python, and handed to the charts' JavaScript as numbers
(the page's json_script block)."""

from math import ceil, floor

TOTAL_MAX = 40
DIMENSION_MAX = 10
# Integer tick steps, and at most this many intervals between ticks.
TICK_STEPS = (1, 2, 5, 10)
MAX_TICK_INTERVALS = 8


def value_axis(values, *, top, bottom=0, marks=()):
    """The {"min", "max", "step"} of a chart of scores on bottom..top.

    The range covers every value and every mark (the flag threshold) with a margin of
    5 % of the scale (at least one point) on each side, is at least a fifth of the
    scale tall (a flat series does not fill the chart from edge to edge), never leaves
    bottom..top, and starts and ends on a tick. Ticks are whole numbers, at most
    MAX_TICK_INTERVALS apart. Missing values (None) are ignored; with no value to show,
    the whole scale."""
    data = [v for v in values if v is not None]
    if not data:
        return {"min": bottom, "max": top, "step": _step(top - bottom)}
    shown = data + [m for m in marks if m is not None]
    scale = top - bottom
    pad = max(1, ceil(scale * 0.05))
    low = max(bottom, floor(min(shown)) - pad)
    high = min(top, ceil(max(shown)) + pad)
    min_span = ceil(scale / 5)
    if high - low < min_span:
        # Grow round the middle, then push off whichever end hit the scale's edge.
        grow = min_span - (high - low)
        low, high = low - grow // 2, high + grow - grow // 2
        if low < bottom:
            low, high = bottom, bottom + min_span
        if high > top:
            low, high = top - min_span, top
    step = _step(high - low)
    low = max(bottom, floor(low / step) * step)
    high = min(top, ceil(high / step) * step)
    return {"min": low, "max": high, "step": step}


def _step(span):
    return next((s for s in TICK_STEPS if span / s <= MAX_TICK_INTERVALS), TICK_STEPS[-1])
