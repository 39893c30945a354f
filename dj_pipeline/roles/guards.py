"""Guard rails applied to the fused role probabilities, each switchable and tuned in ``roles.yaml``.

Feature conditions (a role a sound physically cannot play):
- ``texture_suppress``: a sharp, short hit is not an atmosphere -> TEXTURE scaled down.
- ``sustained_noise_suppress``: long, noise-like sound whose level does not behave like a struck
  drum (energy late in the clip, or no exponential decay: risers, hiss, wind) is not a snare or a
  hat -> the listed percussive roles scaled down.
- ``motion_minimum``: MOTION (hats, shakers, rides) needs high-frequency content.
Decision conditions (how sure a choice must be):
- ``conservative_fill``: FILL (toms) only when it clearly wins; otherwise the runner-up.
- ``low_confidence_texture``: a TEXTURE win by a hair is scaled down again (TEXTURE is the
  catch-all; a drum role that nearly won is the more useful answer).
Every guard that fires adds a short reason, so a result can be explained.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dj_pipeline.config.roles import ROLES, GuardsConfig

_T, _F, _M = ROLES.index("TEXTURE"), ROLES.index("FILL"), ROLES.index("MOTION")


def top_two(p: np.ndarray) -> tuple[int, int, float]:
    """``(best index, runner-up index, margin)`` of one probability row."""
    order = np.argsort(-p, kind="stable")
    return int(order[0]), int(order[1]), float(p[order[0]] - p[order[1]])


def feature_blocks(feats: Mapping[str, float], guards: GuardsConfig) -> dict[str, tuple[float, str]]:
    """Roles a sample's features rule out: ``{role: (factor, reason)}`` (the strongest guard wins)."""
    out: dict[str, tuple[float, str]] = {}

    def block(role: str, factor: float, reason: str) -> None:
        if role not in out or factor < out[role][0]:
            out[role] = (factor, reason)

    ts = guards.texture_suppress
    if ts.enabled and feats["sharpness"] >= ts.sharpness_min and feats["duration"] <= ts.duration_max:
        block("TEXTURE", ts.factor, f"texture_suppress: sharp ({feats['sharpness']:.2f}) and short ({feats['duration']:.2f})")
    sn = guards.sustained_noise_suppress
    not_struck = feats["temporal_centroid"] >= sn.temporal_centroid_min or feats["decay_fit"] <= sn.decay_fit_max
    if sn.enabled and feats["flatness"] >= sn.flatness_min and feats["duration"] >= sn.duration_min and not_struck:
        for role in sn.roles:
            block(role, sn.factor, f"sustained_noise_suppress: long noise (flatness {feats['flatness']:.2f}, duration "
                                   f"{feats['duration']:.2f}) without a drum decay (centroid {feats['temporal_centroid']:.2f}, "
                                   f"decay fit {feats['decay_fit']:.2f})")
    mm = guards.motion_minimum
    if mm.enabled and feats["high_ratio"] < mm.high_ratio_min and feats["zcr"] < mm.zcr_min:
        block("MOTION", mm.factor, f"motion_minimum: high band {feats['high_ratio']:.2f} < {mm.high_ratio_min:g}")
    return out


def role_allowed(role: str, feats: Mapping[str, float], guards: GuardsConfig) -> bool:
    """Whether no feature guard rules ``role`` out for this sample (used when promoting into a pool)."""
    return role not in feature_blocks(feats, guards)


def _normalise(p: np.ndarray) -> np.ndarray:
    s = float(p.sum())
    return p / s if s > 0 else np.full_like(p, 1.0 / p.size)


def apply_guards(p: np.ndarray, feats: Mapping[str, float], guards: GuardsConfig) -> tuple[np.ndarray, list[str]]:
    """Guarded probabilities (sum 1, ``ROLES`` order) and the reasons of the guards that fired."""
    p = np.asarray(p, dtype=np.float64).copy()
    reasons: list[str] = []
    contenders = set(np.argsort(-p, kind="stable")[:2].tolist())
    for role, (factor, reason) in feature_blocks(feats, guards).items():
        p[ROLES.index(role)] *= factor
        if ROLES.index(role) in contenders:  # only worth explaining when the role was in the running
            reasons.append(f"{reason}: {role} x{factor:g}")
    p = _normalise(p)
    best, second, margin = top_two(p)
    cf = guards.conservative_fill
    if cf.enabled and best == _F and (p[_F] < cf.min_prob or margin < cf.min_margin):
        p[_F] = p[second] * cf.demote_ratio
        p = _normalise(p)
        reasons.append(f"conservative_fill: FILL not clear (margin {margin:.2f}) -> {ROLES[second]}")
    best, second, margin = top_two(p)
    lt = guards.low_confidence_texture
    if lt.enabled and best == _T and margin < lt.margin_max:
        p[_T] *= lt.factor
        p = _normalise(p)
        reasons.append(f"low_confidence_texture: TEXTURE margin {margin:.2f} < {lt.margin_max:g}")
    return p, reasons
