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


def bpm_match(
    current_bpm: float, candidate_bpm: np.ndarray, half_double: bool = True, band_bpm: tuple[float, ...] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Best BPM alignment of each candidate to the current track.

    Returns ``(diff_bpm, ratio)``: the absolute tempo difference after scaling the candidate by
    the ratio (1, 0.5 or 2) that brings it closest to the current BPM, and that ratio. A 174 BPM
    candidate after an 87 BPM track gives ``(0, 0.5)``. Unknown tempos (NaN or <= 0) give NaN.
    ``band_bpm`` (low, high): a half/double-time alignment counts only where the faster of the
    two tracks lies in the band (D&B against half-time hip-hop); empty: at any tempo.
    """
    cand = np.asarray(candidate_bpm, dtype=np.float64)
    if cand.size == 0:
        return np.zeros(0), np.zeros(0)
    ratios = np.asarray(HALF_DOUBLE_RATIOS if half_double else HALF_DOUBLE_RATIOS[:1])
    valid = np.isfinite(cand) & (cand > 0) & bool(np.isfinite(current_bpm) and current_bpm > 0)
    diffs = np.abs(np.where(valid, cand, 0.0)[:, None] * ratios[None, :] - float(current_bpm))
    if half_double and len(band_bpm) == 2:
        lo, hi = float(band_bpm[0]), float(band_bpm[1])
        with np.errstate(invalid="ignore"):
            fast = np.maximum(cand, float(current_bpm))  # the faster track of each pair
            in_band = (fast >= lo) & (fast <= hi)
        diffs[:, 1:] = np.where(in_band[:, None], diffs[:, 1:], np.inf)
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
    diff, _ = bpm_match(current_bpm, cand, config.half_double, config.half_double_band_bpm)
    return np.isfinite(diff) & (diff <= bpm_tolerance(current_bpm, config, scale))


CAMELOT_CODES: tuple[str, ...] = tuple(f"{n}{letter}" for n in range(1, 13) for letter in "AB")
_CODE_INDEX = {c: i for i, c in enumerate(CAMELOT_CODES)}
# distance and upward same-letter wheel steps between every pair of codes; the extra last row
# and column stand for an unknown key (index -1), so lookups need no special case
_DISTANCE = np.full((25, 25), UNKNOWN_DISTANCE, dtype=np.int64)
_STEPS = np.full((25, 25), -1, dtype=np.int64)
for _i, _a in enumerate(CAMELOT_CODES):
    for _j, _b in enumerate(CAMELOT_CODES):
        _DISTANCE[_i, _j] = camelot_distance(_a, _b)
        if _a[-1] == _b[-1]:
            _STEPS[_i, _j] = (camelot_parse(_b)[0] - camelot_parse(_a)[0]) % 12


@lru_cache(maxsize=256)
def _index_of(code: str) -> int:
    try:
        n, letter = camelot_parse(code)
    except ValueError:
        return -1
    return _CODE_INDEX[f"{n}{letter}"]


def camelot_index(codes: object) -> np.ndarray:
    """Row of each Camelot code in :data:`CAMELOT_CODES` ("1A" -> 0, "12B" -> 23; -1 when
    missing or unparsable): a library's keys are indexed once, then compared as integers."""
    values = np.atleast_1d(np.asarray(codes, dtype=object))
    return np.array([_index_of(c) if isinstance(c, str) else -1 for c in values], dtype=np.int64)


def key_relation_index(current_index: int, candidate_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`key_relation` on :func:`camelot_index` rows (vectorised: a table lookup)."""
    cand = np.asarray(candidate_index, dtype=np.int64)
    return _DISTANCE[int(current_index), cand], _STEPS[int(current_index), cand]


def key_relation(current_camelot: object, candidate_camelot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camelot distance per candidate (``-1`` when either code is missing) and the upward steps
    around the wheel for same-letter pairs (``-1`` otherwise), used for the +2/+7 boost moves."""
    return key_relation_index(int(camelot_index([current_camelot])[0]), camelot_index(candidate_camelot))


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
    return key_compatible_index(
        int(camelot_index([current_camelot])[0]), current_clarity, camelot_index(candidate_camelot), candidate_clarity, config
    )


def key_compatible_index(
    current_index: int, current_clarity: float, candidate_index: np.ndarray, candidate_clarity: np.ndarray, config: KeyConfig
) -> np.ndarray:
    """:func:`key_compatible` on :func:`camelot_index` rows (for a whole library at once)."""
    dist, steps = key_relation_index(current_index, candidate_index)
    ok = (dist >= 0) & (dist <= config.max_distance)
    if config.energy_boost:
        ok |= is_boost_move(steps, config)
    return ok | ~key_enforced(current_clarity, candidate_clarity, dist, config)
