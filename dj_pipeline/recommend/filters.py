"""Hard filters between the current track and candidates: BPM (with half/double time) and key.

All functions are vectorised over candidates (numpy arrays) and never raise on missing data:
an unknown BPM or key is handled by a documented rule instead of a NaN comparison.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dj_pipeline.config.recommend import BpmConfig, KeyConfig
from dj_pipeline.music.keys import camelot_distance, camelot_parse

UNKNOWN_DISTANCE = -1
HALF_DOUBLE_RATIOS = (1.0, 0.5, 2.0)


def bpm_match(current_bpm: float, candidate_bpm: np.ndarray, half_double: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best BPM alignment of each candidate to the current track.

    Returns ``(diff_bpm, ratio)``: the absolute tempo difference after scaling the candidate by
    the ratio (1, 0.5 or 2) that brings it closest to the current BPM, and that ratio. A 124 BPM
    candidate after a 62 BPM track gives ``(0, 0.5)``. Unknown tempos (NaN or <= 0) give NaN.
    """
    cand = np.asarray(candidate_bpm, dtype=np.float64)
    if cand.size == 0:
        return np.zeros(0), np.zeros(0)
    ratios = np.asarray(HALF_DOUBLE_RATIOS if half_double else HALF_DOUBLE_RATIOS[:1])
    valid = np.isfinite(cand) & (cand > 0) & bool(np.isfinite(current_bpm) and current_bpm > 0)
    diffs = np.abs(np.where(valid, cand, 0.0)[:, None] * ratios[None, :] - float(current_bpm))
    best = np.argmin(diffs, axis=1)
    diff = np.where(valid, diffs[np.arange(cand.size), best], np.nan)
    ratio = np.where(valid, ratios[best], np.nan)
    return diff, ratio


def bpm_tolerance(current_bpm: float, config: BpmConfig, scale: float = 1.0) -> float:
    """Allowed tempo difference in BPM: the larger of the absolute and the relative tolerance."""
    return float(max(config.tolerance_bpm, config.tolerance_pct / 100.0 * float(current_bpm)) * scale)


def bpm_compatible(current_bpm: float, candidate_bpm: np.ndarray, config: BpmConfig, scale: float = 1.0) -> np.ndarray:
    """Which candidates pass the BPM filter (tolerance widened by ``scale`` when relaxing).

    When the current tempo is unknown there is nothing to compare and every candidate passes;
    a candidate with an unknown tempo fails (it can only come back through relaxation).
    """
    cand = np.asarray(candidate_bpm, dtype=np.float64)
    if not (np.isfinite(current_bpm) and current_bpm > 0):
        return np.ones(len(cand), dtype=bool)
    diff, _ = bpm_match(current_bpm, cand, config.half_double)
    return np.isfinite(diff) & (diff <= bpm_tolerance(current_bpm, config, scale))


@lru_cache(maxsize=1024)
def _relation(a: str, b: str) -> tuple[int, int]:
    """(Camelot distance, upward wheel steps when the letter is the same else -1); -1s if unparsable."""
    try:
        na, la = camelot_parse(a)
        nb, lb = camelot_parse(b)
    except ValueError:
        return UNKNOWN_DISTANCE, -1
    return camelot_distance(a, b), ((nb - na) % 12 if la == lb else -1)


def _code(value: object) -> str:
    return value if isinstance(value, str) else ""


def key_relation(current_camelot: object, candidate_camelot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camelot distance per candidate (``-1`` when either code is missing) and the upward steps
    around the wheel for same-letter pairs (``-1`` otherwise), used for the +2/+7 boost moves."""
    cur = _code(current_camelot)
    pairs = [_relation(cur, _code(c)) for c in candidate_camelot]
    dist = np.array([p[0] for p in pairs], dtype=np.int64)
    steps = np.array([p[1] for p in pairs], dtype=np.int64)
    return dist, steps


def is_boost_move(steps: np.ndarray, config: KeyConfig) -> np.ndarray:
    """Same-letter moves of +2 or +7 around the wheel (the "energy boost" moves)."""
    return np.isin(np.asarray(steps), np.asarray(config.boost_steps, dtype=np.int64))


def key_enforced(current_clarity: float, candidate_clarity: np.ndarray, distance: np.ndarray, config: KeyConfig) -> np.ndarray:
    """Where the key filter applies: both keys known and both clarities at least ``min_clarity``."""
    cand = np.nan_to_num(np.asarray(candidate_clarity, dtype=np.float64), nan=0.0)
    cur = float(np.nan_to_num(current_clarity, nan=0.0))
    return (cur >= config.min_clarity) & (cand >= config.min_clarity) & (np.asarray(distance) >= 0)


def key_compatible(
    current_camelot: object,
    current_clarity: float,
    candidate_camelot: np.ndarray,
    candidate_clarity: np.ndarray,
    config: KeyConfig,
) -> np.ndarray:
    """Which candidates pass the key filter.

    Compatible: same code, +-1 with the same letter, or the relative key (same number, other
    letter) -- Camelot distance <= ``max_distance``; with ``energy_boost`` also the +2/+7 moves.
    Where either key is unclear (clarity below ``min_clarity``) or unknown the filter does not
    apply, so an ambiguous key never hides a good track.
    """
    dist, steps = key_relation(current_camelot, np.asarray(candidate_camelot, dtype=object))
    ok = (dist >= 0) & (dist <= config.max_distance)
    if config.energy_boost:
        ok |= is_boost_move(steps, config)
    return ok | ~key_enforced(current_clarity, candidate_clarity, dist, config)
