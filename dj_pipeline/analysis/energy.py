"""Energy 0..1 and the DJ's energy level 1..10, on one fixed calibrated scale.

A DJ reads energy as Mixed In Key shows it: an integer 1..10 that means the same in every crate
(an ambient intro is a 2, a peak-time techno track an 8), so adding tracks never moves the values
already there. The score is therefore built from fixed-reference terms, never library statistics:

- ``loudness``: ``(LUFS - lufs_ref) / lufs_scale_lu`` (integrated BS.1770 loudness),
- ``brightness``: ``log2(centroid / brightness_ref_hz)`` (spectral centroid),
- ``percussive``: ``(share - percussive_ref) / percussive_scale`` (HPSS percussive share),
- ``onset``: ``log2(onsets per s / onset_ref_per_s)``,
- ``density``: ``-(crest_db - crest_ref_db) / crest_scale_db`` (a dense, compressed master has a
  low peak-to-RMS ratio).

``raw = sum(weight * term)``; ``energy = 1 / (1 + exp(-(raw - center) / width))`` and
``energy_level = clip(ceil(10 * energy), 1, 10)``. The weights, ``center`` and ``width`` in
``analysis.yaml`` were fitted once by ``bench/energy_calibrate.py`` (the data it used and the
held-out figures are written next to them) and are constants from then on.
"""

from __future__ import annotations

import math

import numpy as np

from dj_pipeline.config.analysis import EnergyConfig

ENERGY_TERMS: tuple[str, ...] = ("loudness", "brightness", "percussive", "onset", "density")


def energy_terms(
    lufs: float | None,
    onset_density: float | None,
    brightness_hz: float | None,
    percussive_ratio: float | None,
    crest_db: float | None,
    cfg: EnergyConfig,
) -> dict[str, float]:
    """The fixed-reference terms of the energy score (0 = the reference track; see module docstring).

    A missing measurement contributes 0 (the reference value), so one NULL feature does not
    sink a track's energy.
    """
    onset = max(float(onset_density), cfg.min_onset_per_s) if onset_density is not None else None
    bright = max(float(brightness_hz), 1.0) if brightness_hz is not None else None
    return {
        "loudness": 0.0 if lufs is None else (float(lufs) - cfg.lufs_ref) / cfg.lufs_scale_lu,
        "brightness": 0.0 if bright is None else math.log2(bright / cfg.brightness_ref_hz),
        "percussive": 0.0 if percussive_ratio is None else (float(percussive_ratio) - cfg.percussive_ref) / cfg.percussive_scale,
        "onset": 0.0 if onset is None else math.log2(onset / cfg.onset_ref_per_s),
        "density": 0.0 if crest_db is None else -(float(crest_db) - cfg.crest_ref_db) / cfg.crest_scale_db,
    }


def raw_energy(terms: dict[str, float], cfg: EnergyConfig) -> float:
    """Weighted sum of the energy terms (unbounded; the calibration maps it to 0..1)."""
    w = cfg.weights
    return float(sum(getattr(w, name) * float(np.clip(terms[name], -cfg.term_clip, cfg.term_clip)) for name in ENERGY_TERMS))


def calibrated_energy(raw: float, cfg: EnergyConfig) -> float:
    """The fixed logistic calibration of a raw score to 0..1."""
    return float(1.0 / (1.0 + math.exp(-(raw - cfg.center) / cfg.width)))


def energy_score(
    lufs: float | None,
    onset_density: float | None,
    brightness_hz: float | None,
    percussive_ratio: float | None,
    crest_db: float | None,
    cfg: EnergyConfig,
) -> float:
    """Perceived energy 0..1 on the fixed scale; 0 for silence (every block below the gate)."""
    if lufs is None:
        return 0.0
    return calibrated_energy(raw_energy(energy_terms(lufs, onset_density, brightness_hz, percussive_ratio, crest_db, cfg), cfg), cfg)


def energy_level(energy: float | None, levels: int = 10) -> int | None:
    """The DJ's integer level 1..``levels`` of an energy 0..1 (equal steps: 0.35 -> 4)."""
    if energy is None or not math.isfinite(float(energy)):
        return None
    return int(np.clip(math.ceil(float(energy) * levels), 1, levels))
