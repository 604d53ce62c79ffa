"""Small statistics every module's KPIs use, computed the way the database would."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """Continuous percentile (linear interpolation, as PostgreSQL's PERCENTILE_CONT); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return float(ordered[low])
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
