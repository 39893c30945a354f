"""Re-ranking: each term as a component in a known range, and their weighted sum.

Components (all "higher is better"; weights in ``recommend.yaml``):

- ``similarity``  cosine(current outro, candidate intro), -1..1
- ``tempo``       Gaussian closeness of the tempo change in percent, scaled by ``half_double_score``
                  for a half/double-time move: DJs prefer a small pitch change at the same time feel, 0..1
- ``energy_goal`` Gaussian closeness of the goal-energy change to the goal's target delta, or
                  for a goal with ``energy_shape: max`` (peak) a rising tanh of it, 0..1
- ``low_end``     Gaussian closeness of the z-scored sub/bass/lowmid profiles, 0..1 (a clash is low)
- ``mixability``  the candidate's intro_mix, 0..1
- ``key``         graded by Camelot distance, blended to neutral as key clarity drops, 0..1
- ``hype``        goal-signed tanh of the candidate's hype z-score, -1..1 (0 for "maintain")
- ``diversity``   minus the max embedding similarity to the last N tracks played before the
                  current one, counted only above ``diversity_floor`` and rescaled to -1..0 (0
                  with no history): a near-copy of a recent track is penalised, a track that is
                  merely of the same kind is not
- ``variation``   closeness of the vocal/brightness/low-end distance from the recent set to a
                  small target distance (neither a copy nor a jolt); the recent set is those N
                  tracks plus the current one, 0..1
- ``learned``     TransitionRanker probability, 0..1 (only when a trained model is loaded)
- ``mix_length``  how the current mix-out length fits the candidate's mix-in length (bars,
                  ``track_cues``): shorter / longer, 0..1, 0.5 when unknown (:mod:`dj_pipeline.structure.mix`)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from dj_pipeline.config.recommend import GoalSpec, KeyConfig, RecommendConfig, Weights
from dj_pipeline.recommend.energy import energy_goal_score
from dj_pipeline.recommend.pairs import Rows, column, hype_z

COMPONENTS: tuple[str, ...] = (
    "similarity",
    "tempo",
    "energy_goal",
    "low_end",
    "mixability",
    "key",
    "hype",
    "diversity",
    "variation",
)


def closeness(distance: np.ndarray, width: float) -> np.ndarray:
    """Gaussian kernel ``exp(-0.5 (d / width)^2)``: 1 at distance 0, about 0.6 at one width."""
    d = np.asarray(distance, dtype=np.float64)
    return np.exp(-0.5 * (d / max(float(width), 1e-9)) ** 2)


def key_score(distance: np.ndarray, boost_move: np.ndarray, clarity_min: np.ndarray, config: KeyConfig) -> np.ndarray:
    """Harmonic fit: ``distance_scores[d]`` (0 beyond the list), ``boost_score`` for an allowed
    energy-boost move, ``neutral_score`` for an unknown key; blended towards neutral by clarity."""
    dist = np.asarray(distance, dtype=np.int64)
    table = np.asarray(config.distance_scores, dtype=np.float64)
    base = np.where((dist >= 0) & (dist < len(table)), table[np.clip(dist, 0, len(table) - 1)], 0.0)
    if config.energy_boost:
        base = np.where(np.asarray(boost_move, dtype=bool), np.maximum(base, config.boost_score), base)
    base = np.where(dist < 0, config.neutral_score, base)
    conf = np.clip(np.asarray(clarity_min, dtype=np.float64), 0.0, 1.0)
    return conf * base + (1.0 - conf) * config.neutral_score


def tempo_score(bpm_diff_pct: np.ndarray, bpm_ratio: np.ndarray, width_pct: float, half_double_score: float) -> np.ndarray:
    """Closeness of the tempo change (percent of the current BPM, after half/double alignment);
    a half/double-time move (ratio != 1) counts ``half_double_score`` of it. Unknown tempo: 0.5."""
    pct = np.asarray(bpm_diff_pct, dtype=np.float64)
    ratio = np.asarray(bpm_ratio, dtype=np.float64)
    score = closeness(pct, width_pct) * np.where(ratio == 1.0, 1.0, half_double_score)
    return np.where(np.isfinite(pct), score, 0.5)


def max_similarity(candidate_vectors: np.ndarray, recent_vectors: np.ndarray) -> np.ndarray:
    """Max cosine similarity of each candidate (rows of an (n, d) array) to any recent track.

    A missing vector is a row of NaN and counts as similarity 0. Vectors are normalised here.
    """
    cand = np.asarray(candidate_vectors, dtype=np.float64)
    recent = np.asarray(recent_vectors, dtype=np.float64)
    if cand.ndim != 2 or recent.ndim != 2 or not len(cand) or not len(recent):
        return np.zeros(len(cand))
    with np.errstate(invalid="ignore"):
        sims = np.nan_to_num(_unit(cand) @ _unit(recent).T, nan=0.0)
    return sims.max(axis=1)


def repetition(similarity: np.ndarray, floor: float) -> np.ndarray:
    """How much of a repeat a similarity is: 0 up to ``floor``, rising linearly to 1 at 1."""
    sim = np.asarray(similarity, dtype=np.float64)
    return np.clip((sim - floor) / max(1.0 - float(floor), 1e-9), 0.0, 1.0)


def _unit(v: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / np.where(norms > 0, norms, np.nan)


def variation_distance(candidates: Rows, recent: Rows, columns: tuple[str, ...]) -> np.ndarray:
    """Euclidean z-distance of each candidate from the mean of the recent tracks on ``columns``."""
    cols = [f"z_{c}" for c in columns if f"z_{c}" in candidates and f"z_{c}" in recent]
    n = len(column(candidates, "z_energy"))
    if not cols:
        return np.zeros(n)
    cand = np.stack([column(candidates, c) for c in cols], axis=1)
    centre = np.array([column(recent, c).mean() for c in cols])
    return np.linalg.norm(cand - centre, axis=1)


def score_components(
    pairs: pd.DataFrame,
    candidates: Rows,
    candidate_vectors: np.ndarray,
    recent_vectors: np.ndarray,
    recent: Rows,
    goal: GoalSpec,
    config: RecommendConfig,
    learned: np.ndarray | None = None,
    style_similarity: np.ndarray | None = None,
    mix_fit: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """All re-ranking components, one array each, aligned with the rows of ``pairs``.

    ``candidate_vectors``: pooled track embeddings of the candidates (NaN rows when missing);
    ``recent_vectors``: embeddings of the last N tracks played before the current one;
    ``recent``: prepared feature columns of those tracks plus the current one;
    ``style_similarity``: cosine of the current and candidate style vectors (the pooled track
    vectors diffused over the library graph, :mod:`dj_pipeline.index.style`): whole-track
    character, where ``similarity`` is about the seam, outro against intro.
    """
    s = config.scoring
    dist = variation_distance(candidates, recent, s.variation_columns)
    comps = {
        "similarity": pairs["embedding_similarity"].to_numpy(dtype=np.float64),
        "tempo": tempo_score(pairs["bpm_diff_pct"].to_numpy(), pairs["bpm_ratio"].to_numpy(), s.tempo_width_pct, s.half_double_score),
        "energy_goal": energy_goal_score(goal, pairs["energy_delta"].to_numpy(), goal.energy_width_z or s.energy_width_z),
        "low_end": closeness(pairs["low_end_distance"].to_numpy(), s.low_end_width_z),
        "mixability": np.clip(pairs["intro_mix"].to_numpy(dtype=np.float64), 0.0, 1.0),
        "key": key_score(pairs["camelot_distance"].to_numpy(), pairs["boost_move"].to_numpy(), pairs["key_clarity_min"].to_numpy(), config.key),
        "hype": goal.hype_sign * np.tanh(hype_z(candidates, config) / s.hype_scale_z),
        "diversity": -repetition(max_similarity(candidate_vectors, recent_vectors), s.diversity_floor),
        "variation": closeness(dist - s.variation_target_z, s.variation_width_z),
    }
    if style_similarity is not None:
        comps["style"] = np.clip(np.asarray(style_similarity, dtype=np.float64), -1.0, 1.0)
    if learned is not None:
        comps["learned"] = np.clip(np.asarray(learned, dtype=np.float64), 0.0, 1.0)
    if mix_fit is not None:
        comps["mix_length"] = np.clip(np.asarray(mix_fit, dtype=np.float64), 0.0, 1.0)
    return {name: np.nan_to_num(np.asarray(v, dtype=np.float64), nan=0.0) for name, v in comps.items()}


def weighted_terms(components: Mapping[str, np.ndarray], weights: Weights) -> dict[str, np.ndarray]:
    """``weight * component`` for each component present (a missing weight counts 0); their sum
    is the score, and each one says how much that term moved it."""
    w = weights.as_dict()
    return {name: w.get(name, 0.0) * np.asarray(values, dtype=np.float64) for name, values in components.items()}


def weighted_score(components: Mapping[str, np.ndarray], weights: Weights) -> np.ndarray:
    """``sum(weight * component)`` over the components present."""
    terms = weighted_terms(components, weights)
    return sum(terms.values(), np.zeros(len(next(iter(components.values()))) if components else 0))
