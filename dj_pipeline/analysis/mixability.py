"""How easy a window is to blend (intro_mix / outro_mix), and a danceability score.

Mixability: a DJ blends most easily over a steady, drum-led section (beat-matchable, no sudden
level jumps, little melodic content to clash). Score = weighted sum of the window's percussive
share (HPSS, saturating at ``percussive_ref``) and its RMS stability (1 - std of per-second levels
/ ``rms_std_ref_db``).

Danceability: pulse clarity (the tempo confidence), percussive drive and closeness of the tempo to
the dance-floor centre, scaled down by tempo instability.
"""

from __future__ import annotations

import numpy as np

from dj_pipeline.analysis.frontend import Spectra, frame_rms_db
from dj_pipeline.analysis.spectral import percussive_ratio
from dj_pipeline.config.analysis import DanceConfig, MixConfig


def rms_stability(y: np.ndarray, sr: int, cfg: MixConfig) -> float:
    """1 for a steady level, 0 when per-second RMS levels vary by ``rms_std_ref_db`` or more."""
    levels = np.maximum(frame_rms_db(y, int(round(cfg.rms_frame_s * sr))), -90.0)
    if levels.size < 2:
        return 1.0
    return float(np.clip(1.0 - levels.std() / cfg.rms_std_ref_db, 0.0, 1.0))


def mix_score(spec: Spectra, cfg: MixConfig) -> float | None:
    """Mixability 0..1 of one window (``None`` when it has no energy)."""
    perc = percussive_ratio([spec])
    if perc is None:
        return None
    w = cfg.weights
    perc_term = float(np.clip(perc / cfg.percussive_ref, 0.0, 1.0))
    score = (w.percussive * perc_term + w.stability * rms_stability(spec.y, spec.sr, cfg)) / (w.percussive + w.stability)
    return float(np.clip(score, 0.0, 1.0))


def danceability(
    bpm: float | None, pulse_clarity: float, bpm_std: float | None, percussive: float | None, cfg: DanceConfig
) -> float:
    """Danceability 0..1: steady clear pulse, drums, tempo near ``center_bpm``."""
    w = cfg.weights
    tempo_fit = 0.0
    if bpm is not None:
        tempo_fit = float(np.exp(-0.5 * (np.log2(bpm / cfg.center_bpm) / cfg.sigma_octaves) ** 2))
    perc = 0.0 if percussive is None else float(np.clip(percussive / cfg.percussive_ref, 0.0, 1.0))
    base = (w.pulse * float(np.clip(pulse_clarity, 0.0, 1.0)) + w.percussive * perc + w.tempo_fit * tempo_fit)
    base /= w.pulse + w.percussive + w.tempo_fit
    stability = 1.0 / (1.0 + (bpm_std or 0.0) / cfg.stability_ref_bpm)
    return float(np.clip(base * stability, 0.0, 1.0))
