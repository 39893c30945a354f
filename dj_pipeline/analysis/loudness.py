"""Loudness (ITU-R BS.1770 integrated, K-weighted and gated) and the crest factor.

The K-weighting filter is the two-biquad design of BS.1770 (a +4 dB high shelf at ~1.7 kHz and a
~38 Hz high-pass) derived for any sample rate from its analogue parameters with the RBJ cookbook
formulas (the same derivation pyloudnorm uses), so the analysis rate needs no resampling. Gating:
400 ms blocks with 75 % overlap, absolute gate -70 LUFS, relative gate -10 LU. Blocks of all the
sampled windows are pooled before gating, which is what integrating over their union means.

The analysis sees a mono downmix; BS.1770 sums the channel powers, so a centred (L = R) stereo
track reads ``downmix_gain_db`` (+3.01 dB) louder than its downmix: that gain is added back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import lfilter

from dj_pipeline.analysis.frontend import EPS
from dj_pipeline.config.analysis import LoudnessConfig

# BS.1770 K-weighting, analogue parameters (shelf gain dB, Q, centre Hz; high-pass Q, corner Hz).
_SHELF_GAIN_DB, _SHELF_Q, _SHELF_HZ = 3.999843853973347, 0.7071752369554196, 1681.974450955533
_HP_Q, _HP_HZ = 0.5003270373238773, 38.13547087602444
_LUFS_OFFSET = -0.691


def k_weighting_coefficients(sr: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(b, a), (b, a)]`` of the K-weighting shelf and high-pass biquads at ``sr``."""
    a_gain = 10.0 ** (_SHELF_GAIN_DB / 40.0)
    w0 = 2.0 * np.pi * _SHELF_HZ / sr
    alpha = np.sin(w0) / (2.0 * _SHELF_Q)
    cw, sa = np.cos(w0), 2.0 * np.sqrt(a_gain) * alpha
    shelf_b = a_gain * np.array([(a_gain + 1) + (a_gain - 1) * cw + sa, -2 * ((a_gain - 1) + (a_gain + 1) * cw), (a_gain + 1) + (a_gain - 1) * cw - sa])
    shelf_a = np.array([(a_gain + 1) - (a_gain - 1) * cw + sa, 2 * ((a_gain - 1) - (a_gain + 1) * cw), (a_gain + 1) - (a_gain - 1) * cw - sa])
    w0 = 2.0 * np.pi * _HP_HZ / sr
    alpha = np.sin(w0) / (2.0 * _HP_Q)
    cw = np.cos(w0)
    hp_b = np.array([(1 + cw) / 2, -(1 + cw), (1 + cw) / 2])
    hp_a = np.array([1 + alpha, -2 * cw, 1 - alpha])
    return [(shelf_b / shelf_a[0], shelf_a / shelf_a[0]), (hp_b / hp_a[0], hp_a / hp_a[0])]


def block_powers(y: np.ndarray, sr: int, cfg: LoudnessConfig) -> np.ndarray:
    """Mean-square of the K-weighted signal in each gating block (empty when ``y`` < one block)."""
    x = np.asarray(y, dtype=np.float64)
    for b, a in k_weighting_coefficients(sr):
        x = lfilter(b, a, x)
    n_block = int(round(cfg.block_s * sr))
    step = max(1, int(round(n_block * (1.0 - cfg.block_overlap))))
    if x.size < n_block:
        return np.zeros(0)
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(0, x.size - n_block + 1, step)
    return (csum[starts + n_block] - csum[starts]) / n_block


def integrated_lufs(powers: np.ndarray, cfg: LoudnessConfig) -> float | None:
    """Gated integrated loudness (LUFS) of pooled block powers; ``None`` when all blocks are gated."""
    if powers.size == 0:
        return None
    gain = 10.0 ** (cfg.downmix_gain_db / 10.0)
    z = powers * gain
    level = _LUFS_OFFSET + 10.0 * np.log10(np.maximum(z, EPS * EPS))
    z = z[level > cfg.absolute_gate_lufs]
    if z.size == 0:
        return None
    relative = _LUFS_OFFSET + 10.0 * np.log10(z.mean()) + cfg.relative_gate_lu
    z = z[_LUFS_OFFSET + 10.0 * np.log10(z) > relative]
    return float(_LUFS_OFFSET + 10.0 * np.log10(z.mean())) if z.size else None


def loudness_of(segments: Sequence[np.ndarray], sr: int, cfg: LoudnessConfig) -> float | None:
    """Integrated loudness (LUFS) over the union of ``segments``; ``None`` if too short or silent."""
    powers = [block_powers(y, sr, cfg) for y in segments]
    return integrated_lufs(np.concatenate(powers) if powers else np.zeros(0), cfg)


def crest_db(segments: Sequence[np.ndarray]) -> float | None:
    """Peak-to-RMS ratio in dB over all samples (a brickwalled master reads ~6-9 dB)."""
    peak = max((float(np.max(np.abs(y))) for y in segments if y.size), default=0.0)
    n = sum(y.size for y in segments)
    if n == 0 or peak <= EPS:
        return None
    rms = np.sqrt(sum(float(np.dot(y.astype(np.float64), y)) for y in segments) / n)
    return float(20.0 * np.log10(peak / max(rms, EPS)))

