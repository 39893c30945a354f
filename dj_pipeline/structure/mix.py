"""Mix lengths for the recommender: how long a DJ can blend out of one track and into the next.

``track_cues`` gives each track's ``mix_in`` and ``mix_out`` times, bars and lengths; the re-rank term
``mix_length`` (weight in ``recommend.yaml``) scores how the current track's outro length fits the
candidate's intro length: a 16-bar outro into a 16-bar intro fits (1.0), a 32-bar outro into a
16-bar intro half as well (0.5: the blend is cut to the shorter one). Unknown lengths score
``UNKNOWN_FIT`` (neutral).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

UNKNOWN_FIT = 0.5
MIX_POINT_COLUMNS = ("mix_in_s", "mix_in_bar", "mix_in_bars", "mix_out_s", "mix_out_bar", "mix_out_bars")


def with_mix_points(features: pd.DataFrame, cues: pd.DataFrame | None) -> pd.DataFrame:
    """``features`` plus :data:`MIX_POINT_COLUMNS` from ``track_cues`` (NaN where unknown): the
    lengths feed the ``mix_length`` term, the times and bars tell the DJ where to mix."""
    out = features.drop(columns=list(MIX_POINT_COLUMNS), errors="ignore")
    points = mix_points(cues)
    if points.empty or "track_id" not in out:
        return out.assign(**{c: np.nan for c in MIX_POINT_COLUMNS})
    return out.merge(points, on="track_id", how="left")


def mix_length_fit(current: Mapping[str, Any], candidates: Mapping[str, Any]) -> np.ndarray | None:
    """``min / max`` of the current track's ``mix_out_bars`` and each candidate's ``mix_in_bars``, 0..1;
    ``None`` when the candidates carry no mix lengths (a library without ``track_cues``: no term)."""
    if "mix_in_bars" not in candidates:
        return None
    cand = np.asarray(candidates["mix_in_bars"], dtype=np.float64)
    cur = pd.to_numeric(pd.Series([current.get("mix_out_bars") if hasattr(current, "get") else None]), errors="coerce").iloc[0]
    ok = np.isfinite(cand) & (cand > 0) & np.isfinite(cur) & (cur > 0)
    fit = np.minimum(cand, cur) / np.maximum(np.maximum(cand, cur), 1e-9)
    return np.where(ok, fit, UNKNOWN_FIT)


def mix_points(cues: pd.DataFrame | None) -> pd.DataFrame:
    """Where to mix, one row per track: ``track_id`` and :data:`MIX_POINT_COLUMNS` (time, bar and
    length of ``mix_in`` and ``mix_out`` from ``track_cues``; NaN where a cue is NULL) — what a
    recommendation can print next to each candidate ("mix in at 0:15, 16 bars") and for the
    current track ("mix out at 5:12")."""
    cols = ["track_id", *MIX_POINT_COLUMNS]
    if cues is None or cues.empty or not {"track_id", "type"} <= set(cues.columns):
        return pd.DataFrame(columns=cols)
    placed = cues[cues["type"].isin(["mix_in", "mix_out"])].drop_duplicates(["track_id", "type"], keep="last")
    placed = placed.reindex(columns=["track_id", "type", "time_s", "bar", "length_bars"])  # a missing column: NaN
    wide = placed.pivot(index="track_id", columns="type", values=["time_s", "bar", "length_bars"]).astype("float64")
    names = {"time_s": "s", "bar": "bar", "length_bars": "bars"}
    wide.columns = [f"{kind}_{names[value]}" for value, kind in wide.columns]
    return wide.reindex(columns=list(MIX_POINT_COLUMNS)).reset_index()[cols]
