"""Energy on a scale a DJ reads: integer levels 1..10 and the direction rules of the goals.

The analysed ``energy`` of club tracks sits in a narrow band (every club track 0.59-0.64 in a
real crate), so an absolute threshold moves nothing. The goals therefore compare the *goal
energy* (``scoring.energy_columns``: library z-scores of energy and loudness, see
:func:`dj_pipeline.recommend.pairs.intensity_z`) and show it as a level 1..10:

- when ``track_features`` carries the analysis' calibrated ``energy_level`` column (issue 7), that
  column is the level;
- otherwise the level is the track's rank in this library (its percentile of the goal energy,
  cut into ``levels`` equal steps): in a crate of any size the quietest tenth is level 1 and the
  hardest tenth level 10, which is what "energy +1" means to a DJ browsing that crate.

A goal's *direction* (``GoalSpec.direction``): ``+1`` (up, peak) wants a candidate a level
above the current track (or, at the same level, ``min_step_z`` above it), ``-1`` (down) as much
below, ``0`` (maintain) within ``maintain_levels`` levels of it; peak is also met at the top.
"""

from __future__ import annotations

import numpy as np

from dj_pipeline.config.recommend import EnergyConfig, GoalSpec


def library_levels(intensity: np.ndarray, levels: int) -> np.ndarray:
    """Level 1..``levels`` of each track from its rank in the library (ties share a level)."""
    x = np.asarray(intensity, dtype=np.float64)
    if not len(x):
        return np.zeros(0, dtype=np.int64)
    return level_of(x, np.sort(x), levels)


def level_of(intensity: np.ndarray, sorted_library: np.ndarray, levels: int) -> np.ndarray:
    """Level of ``intensity`` values against the library's sorted goal energies (a track from
    outside the library is placed by where it would rank)."""
    x = np.atleast_1d(np.asarray(intensity, dtype=np.float64))
    lib = np.asarray(sorted_library, dtype=np.float64)
    if not len(lib):
        return np.full(len(x), (levels + 1) // 2, dtype=np.int64)
    # mid-rank percentile: the share of the library below plus half the ties
    below = np.searchsorted(lib, x, side="left")
    upto = np.searchsorted(lib, x, side="right")
    pct = (below + upto) / (2.0 * len(lib))
    return np.clip(np.floor(pct * levels).astype(np.int64) + 1, 1, levels)


def given_levels(values: object, levels: int) -> np.ndarray | None:
    """The analysis' ``energy_level`` column as integers 1..levels, or ``None`` when absent/empty."""
    if values is None:
        return None
    x = np.asarray(values, dtype=np.float64)
    if not len(x) or not np.isfinite(x).any():
        return None
    fill = float(np.nanmedian(x))
    return np.clip(np.rint(np.where(np.isfinite(x), x, fill)), 1, levels).astype(np.int64)


def direction_ok(goal: GoalSpec, energy_delta: np.ndarray, level_delta: np.ndarray, level: np.ndarray, config: EnergyConfig) -> np.ndarray:
    """Which candidates move the way ``goal`` asks: up/down by at least one level, or within
    the same level by at least ``min_step_z`` of goal energy; a ``max``-shaped goal (peak) is
    also met by a candidate in the top ``maintain_levels + 1`` levels (at the peak, stay there);
    maintain: within ``maintain_levels`` levels."""
    delta = np.asarray(energy_delta, dtype=np.float64)
    steps = np.asarray(level_delta)
    if goal.direction == 0:
        return np.abs(steps) <= config.maintain_levels
    sign = float(goal.direction)
    ok = (sign * steps >= 1) | ((steps == 0) & (sign * delta >= config.min_step_z))
    if goal.energy_shape == "max":
        ok |= np.asarray(level) > config.levels - 1 - config.maintain_levels
    return ok


def bpm_direction_ok(goal: GoalSpec, current_bpm: float, candidate_bpm: np.ndarray, tolerance_bpm: float) -> tuple[np.ndarray, np.ndarray]:
    """``(allowed, preferred)`` tempo moves for a goal with a BPM direction.

    ``down`` (``bpm_direction`` -1): the raw tempo may rise by at most ``tolerance_bpm`` (a jump
    to double time is a rise), and not rising at all is preferred; ``+1`` mirrors it; ``0``
    allows and prefers everything. An unknown tempo is allowed (the BPM filter rules it).
    """
    cand = np.asarray(candidate_bpm, dtype=np.float64)
    sign = float(goal.bpm_direction)
    if sign == 0 or not np.isfinite(current_bpm):
        ones = np.ones(len(cand), dtype=bool)
        return ones, ones
    move = sign * (cand - float(current_bpm))  # positive: in the goal's tempo direction
    unknown = ~np.isfinite(move)
    allowed = unknown | (move >= -float(tolerance_bpm))
    preferred = unknown | (move >= -0.5)
    return allowed, preferred


def energy_goal_score(goal: GoalSpec, energy_delta: np.ndarray, width_z: float) -> np.ndarray:
    """The energy-goal component, 0..1: closeness to the goal's target change, or for a goal
    with ``energy_shape: max`` (peak) a rising curve, so the hardest compatible track wins."""
    d = np.asarray(energy_delta, dtype=np.float64)
    if goal.energy_shape == "max":
        return 0.5 * (1.0 + np.tanh(d / max(width_z, 1e-9)))
    return np.exp(-0.5 * ((d - goal.energy_delta) / max(width_z, 1e-9)) ** 2)
