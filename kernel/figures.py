"""The one percentile the benchmarks print (p50, p95), so that figures from different
commands are comparable: numpy's, interpolated between the two nearest values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` (0..1) of `values` lie; nan for no values."""
    return float(np.percentile(values, share * 100)) if len(values) else float("nan")
