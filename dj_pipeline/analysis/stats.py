"""Library-wide statistics: mean/std of the features the recommender compares as z-scores."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from dj_pipeline.config.analysis import load_analysis_config


def library_stats(features: pd.DataFrame, columns: Iterable[str] | None = None) -> dict[str, dict[str, float]]:
    """``{column: {"mean", "std", "count"}}`` over the non-NULL values of each z-score column.

    ``columns`` defaults to ``zscore_columns`` of ``analysis.yaml``. A column with no values gets
    mean 0 / std 1; a constant column gets std 0 (its z-scores are then 0, see :func:`zscore`).
    """
    cols = tuple(columns) if columns is not None else load_analysis_config().zscore_columns
    out: dict[str, dict[str, float]] = {}
    for col in cols:
        values = pd.to_numeric(features[col], errors="coerce") if col in features else pd.Series(dtype=float)
        values = values[np.isfinite(values.astype("float64"))] if len(values) else values
        if len(values) == 0:
            out[col] = {"mean": 0.0, "std": 1.0, "count": 0}
            continue
        arr = values.to_numpy(dtype=np.float64)
        out[col] = {"mean": float(arr.mean()), "std": float(arr.std(ddof=0)), "count": int(arr.size)}
    return out


def zscore(features: pd.DataFrame, stats: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """Copy of ``features`` with ``z_<column>`` for every column in ``stats``.

    NULL stays NULL (``<NA>``); a zero std gives 0 (every track is average on that feature).
    """
    out = features.copy()
    for col, s in stats.items():
        x = pd.to_numeric(out[col], errors="coerce").astype("Float64") if col in out else pd.Series(pd.NA, index=out.index, dtype="Float64")
        std = float(s.get("std", 0.0))
        z = (x - float(s["mean"])) / std if std > 0 else x * 0.0
        out[f"z_{col}"] = z.astype("Float64")
    return out
