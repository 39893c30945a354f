"""The feature table the engine scores on: numeric columns cleaned, ``z_<column>`` on one scale.

Energy, onset density, brightness ... come in different units; goals, hype, low-end and
variation terms compare them as library z-scores. The library statistics are the
``feature_stats`` asset when the pipeline wrote it (the same numbers the SQL view uses) and the
table's own mean/std otherwise. Missing values never reach the scores as NaN: a missing feature
takes the library median (z close to 0, i.e. neutral), a missing key clarity counts as 0 (unclear),
and a missing BPM stays NaN because the BPM filter has an explicit rule for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import RecommendConfig

FILLED_COLUMNS: tuple[str, ...] = (
    "energy",
    "loudness_lufs",
    "sub",
    "bass",
    "lowmid",
    "onset_density",
    "percussive_ratio",
    "brightness",
    "vocal_presence",
    "intro_mix",
    "outro_mix",
)
TEXT_COLUMNS: tuple[str, ...] = ("key", "camelot")
Stats = dict[str, tuple[float, float]]


def z_columns(config: RecommendConfig) -> tuple[str, ...]:
    """Every column the scoring compares as a z-score (energy goal, hype, low end, variation)."""
    s = config.scoring
    cols = ["energy", *s.energy_columns, *s.hype_columns, *s.low_end_columns, *s.variation_columns]
    return tuple(dict.fromkeys(cols))


def library_stats(features: pd.DataFrame, columns: Iterable[str], stats_table: pd.DataFrame | None = None) -> Stats:
    """``{column: (mean, std)}``: from ``stats_table`` (column_name, mean, std) where it has the
    column, else from ``features`` itself. A zero or undefined std becomes 1 (no scaling)."""
    given: Stats = {}
    if stats_table is not None and not stats_table.empty:
        for r in stats_table.itertuples(index=False):
            given[str(r.column_name)] = (float(r.mean), float(r.std))
    out: Stats = {}
    for col in columns:
        if col in given:
            mean, std = given[col]
        else:
            values = pd.to_numeric(features[col], errors="coerce") if col in features else pd.Series(dtype=float)
            mean, std = float(values.mean()), float(values.std(ddof=0))
        out[col] = (mean if np.isfinite(mean) else 0.0, std if np.isfinite(std) and std > 0 else 1.0)
    return out


def prepare_features(features: pd.DataFrame, config: RecommendConfig, stats_table: pd.DataFrame | None = None) -> tuple[pd.DataFrame, Stats, dict[str, float]]:
    """Clean the ``track_features`` rows into the table the engine scores on.

    Returns ``(table indexed by track_id, z statistics, fill values)``; the last two are what
    :func:`prepare_row` needs to put a track from outside the library on the same scale.
    """
    if "track_id" not in features:
        raise ValueError("track_features has no track_id column")
    df = features.drop_duplicates("track_id", keep="last").set_index("track_id")
    for col in ("bpm", "key_clarity", *FILLED_COLUMNS):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64") if col in df else np.nan
    fills = {col: _median(df[col]) for col in FILLED_COLUMNS}
    stats = library_stats(df, z_columns(config), stats_table)
    return _clean(df, stats, fills), stats, fills


def prepare_row(features: Mapping[str, Any], stats: Stats, fills: Mapping[str, float]) -> pd.Series:
    """One track's features (e.g. from ``analyze_file``) cleaned like :func:`prepare_features`."""
    df = pd.DataFrame([dict(features)])
    for col in ("bpm", "key_clarity", *FILLED_COLUMNS):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64") if col in df else np.nan
    return _clean(df, stats, fills).iloc[0]


def _clean(df: pd.DataFrame, stats: Stats, fills: Mapping[str, float]) -> pd.DataFrame:
    df = df.copy()
    for col in FILLED_COLUMNS:
        df[col] = df[col].fillna(fills.get(col, 0.0))
    df["key_clarity"] = df["key_clarity"].fillna(0.0).clip(0.0, 1.0)
    df["bpm"] = df["bpm"].where(df["bpm"] > 0)
    for col in TEXT_COLUMNS:
        df[col] = df[col].where(df[col].notna(), None) if col in df else None
    for col, (mean, std) in stats.items():
        values = pd.to_numeric(df[col], errors="coerce") if col in df else pd.Series(np.nan, index=df.index)
        df[f"z_{col}"] = ((values - mean) / std).fillna(0.0).astype("float64")
    return df


def _median(values: pd.Series) -> float:
    m = float(values.median()) if values.notna().any() else 0.0
    return m if np.isfinite(m) else 0.0
