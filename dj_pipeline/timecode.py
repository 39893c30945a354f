"""Positions in a track as a DJ's player shows them (``5:12``, ``5:12.34``): one formatter for the
cue sheet and the recommendations, importable without the analysis stack."""

from __future__ import annotations

import math
from typing import Any


def clock(t: Any, decimals: int = 0) -> str:
    """``m:ss`` (``m:ss.ss`` with ``decimals=2``; minutes run on past the hour), ``-`` for none."""
    try:
        t = float(t)
    except (TypeError, ValueError):
        return "-"
    if not math.isfinite(t):
        return "-"
    if decimals <= 0:
        minutes, seconds = divmod(int(round(max(0.0, t))), 60)
        return f"{minutes}:{seconds:02d}"
    minutes, seconds = divmod(t, 60.0)
    return f"{int(minutes)}:{seconds:0{decimals + 3}.{decimals}f}"
