"""Accuracy scores for tempo and key estimates (MIREX conventions), for benchmarks and tests.

* Tempo Accuracy1: the estimate is within ``tolerance`` (4 %) of the truth.
  Accuracy2: also counts the metrical-level errors x2, x1/2, x3, x1/3.
* Key weighted score (MIREX / ``mir_eval.key.weighted_score``): 1 same key, 0.5 the estimate is a
  perfect fifth above the truth in the same mode, 0.3 relative major/minor, 0.2 parallel
  major/minor, else 0.
"""

from __future__ import annotations

import math

TEMPO_TOLERANCE = 0.04
ACC2_FACTORS: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def _valid(x: float | None) -> bool:
    return x is not None and math.isfinite(float(x)) and float(x) > 0


def tempo_accuracy1(estimate: float | None, truth: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    """MIREX Accuracy1: ``|estimate - truth| <= tolerance * truth`` (a missing estimate is wrong)."""
    return _valid(estimate) and abs(float(estimate) - truth) <= tolerance * truth


def tempo_accuracy2(estimate: float | None, truth: float, tolerance: float = TEMPO_TOLERANCE) -> bool:
    """MIREX Accuracy2: Accuracy1 against truth x 1, 2, 1/2, 3 or 1/3."""
    return any(tempo_accuracy1(estimate, truth * f, tolerance) for f in ACC2_FACTORS)


def key_relation(est_root: int | None, est_mode: str | None, ref_root: int, ref_mode: str) -> str:
    """How an estimated key relates to the reference: same, fifth, relative, parallel, other, none."""
    if est_root is None or est_mode not in ("major", "minor"):
        return "none"
    diff = (int(est_root) - int(ref_root)) % 12
    if est_mode == ref_mode:
        return "same" if diff == 0 else ("fifth" if diff == 7 else "other")
    if ref_mode == "major" and diff == 9 or ref_mode == "minor" and diff == 3:
        return "relative"
    return "parallel" if diff == 0 else "other"


KEY_WEIGHTS: dict[str, float] = {"same": 1.0, "fifth": 0.5, "relative": 0.3, "parallel": 0.2, "other": 0.0, "none": 0.0}


def key_weighted_score(est_root: int | None, est_mode: str | None, ref_root: int, ref_mode: str) -> float:
    """MIREX weighted key score of one estimate (see the module docstring)."""
    return KEY_WEIGHTS[key_relation(est_root, est_mode, ref_root, ref_mode)]
