"""Features of a transition (current track -> candidate), shared by the scorer and the ranker.

One function computes them so that the re-ranking terms and the learned TransitionRanker see the
same numbers: tempo difference after half/double alignment, Camelot distance, energy and hype
change, low-end profile distance, embedding similarity, mixability.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import RecommendConfig
from dj_pipeline.recommend.filters import bpm_match, is_boost_move, key_relation

PAIR_FEATURES: tuple[str, ...] = (
    "embedding_similarity",
    "bpm_diff",
    "bpm_diff_pct",
    "bpm_ratio",
    "camelot_distance",
    "key_clarity_min",
    "boost_move",
    "energy_delta",
    "hype_delta",
    "low_end_distance",
    "onset_delta",
    "brightness_delta",
    "vocal_delta",
    "intro_mix",
    "outro_mix",
)


Rows = Mapping[str, Any]  # column name -> values: a dict of numpy arrays or a DataFrame; one track: scalars


def column(rows: Rows, name: str) -> np.ndarray:
    """``rows[name]`` as float64 (a 1-D array for many rows, 0-D for one track)."""
    return np.asarray(rows[name], dtype=np.float64)


def scalar(value: Any) -> float:
    """A float, NaN for None or anything not finite (an unknown tempo, say)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return float("nan")
    return v if np.isfinite(v) else float("nan")


def weighted_z(rows: Rows, weights: Mapping[str, float]) -> np.ndarray:
    """Weighted mean of the z-scored ``weights`` columns (weights normalised by their absolute sum)."""
    total = sum(abs(w) for w in weights.values()) or 1.0
    return sum(w * column(rows, f"z_{col}") for col, w in weights.items()) / total


def hype_z(rows: Rows, config: RecommendConfig) -> np.ndarray:
    """Hype: weighted mean of the z-scored energy, onset density and percussive ratio."""
    return weighted_z(rows, config.scoring.hype_columns)


def intensity_z(rows: Rows, config: RecommendConfig) -> np.ndarray:
    """The energy the goals move along: a weighted mean of z-scored columns (``energy_columns``:
    the energy score and the integrated loudness), so a change of level counts as much as a
    change of the energy score's density and timbre terms."""
    return weighted_z(rows, config.scoring.energy_columns)


def low_end_matrix(rows: Rows, config: RecommendConfig) -> np.ndarray:
    """The z-scored sub/bass/lowmid profile: shape (n, 3) for many rows, (3,) for one track."""
    return np.stack([column(rows, f"z_{c}") for c in config.scoring.low_end_columns], axis=-1)


def pair_features(current: Rows, candidates: Rows, similarity: np.ndarray, config: RecommendConfig) -> pd.DataFrame:
    """One row per candidate with the :data:`PAIR_FEATURES` of the transition from ``current``.

    ``current`` (one track) and ``candidates`` (columns) hold prepared features (see
    :func:`dj_pipeline.recommend.features.prepare_features`); ``similarity`` is cosine(current
    outro, candidate intro). Unknown tempo gives ``bpm_diff`` NaN (the ranker handles NaN; the
    scorer never reads it) and an unknown key ``camelot_distance`` -1.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    cur_bpm = scalar(current["bpm"])
    diff, ratio = bpm_match(cur_bpm, column(candidates, "bpm"), config.bpm.half_double, config.bpm.half_double_band_bpm)
    dist, steps = key_relation(current.get("camelot"), np.asarray(candidates["camelot"], dtype=object))
    low_end = np.linalg.norm(low_end_matrix(candidates, config) - low_end_matrix(current, config), axis=1)
    out = {
        "embedding_similarity": sim,
        "bpm_diff": diff,
        "bpm_diff_pct": diff / cur_bpm * 100.0 if np.isfinite(cur_bpm) else np.full(len(sim), np.nan),
        "bpm_ratio": ratio,
        "camelot_distance": dist,
        "key_clarity_min": np.minimum(float(current["key_clarity"]), column(candidates, "key_clarity")),
        "boost_move": is_boost_move(steps, config.key).astype(np.int64),
        "energy_delta": intensity_z(candidates, config) - float(intensity_z(current, config)),
        "hype_delta": hype_z(candidates, config) - float(hype_z(current, config)),
        "low_end_distance": low_end,
        "onset_delta": _delta(current, candidates, "z_onset_density", len(sim)),
        "brightness_delta": _delta(current, candidates, "z_brightness", len(sim)),
        "vocal_delta": _delta(current, candidates, "z_vocal_presence", len(sim)),
        "intro_mix": column(candidates, "intro_mix"),
        "outro_mix": np.full(len(sim), float(current["outro_mix"])),
    }
    return pd.DataFrame(out, columns=list(PAIR_FEATURES))


def _delta(current: Rows, candidates: Rows, col: str, n: int) -> np.ndarray:
    if col not in candidates or col not in current:
        return np.zeros(n)
    return column(candidates, col) - float(current[col])
