"""The one percentile every benchmark prints (kernel/figures.py)."""

from __future__ import annotations

import math

from kernel.figures import percentile


def test_a_percentile_interpolates_between_the_nearest_values_and_is_nan_for_none():
    values = [float(v) for v in range(1, 101)]  # 1 .. 100
    assert percentile(values, 0.5) == 50.5
    assert percentile(values, 0.95) == 95.05
    assert percentile([7.0], 0.95) == 7.0
    assert math.isnan(percentile([], 0.95))
