"""Beat grid of the intro: beat phase at the track's tempo, bar phase, and the first downbeat.

* Beat phase: the offset that best aligns a comb at the beat period with the intro's onsets below
  ``beat_max_hz`` (kicks and snares; hats sit on off-beats as often as on beats) plus the low-band
  (kick) envelope, each normalised.
* Bar phase (which beat of 4 is "1"): the beat phase with the strongest kicks, plus a bonus for
  the first beat after the music starts (tracks made for DJs start on a downbeat). A
  four-on-the-floor kick is the same on every beat, so there the bonus decides.
* Spectral flux peaks about a quarter window before an event (the Hann window's leading edge), so
  ``onset_lead_s`` (a quarter of ``onset_n_fft``) is added back to the times.
"""

from __future__ import annotations

import numpy as np

from dj_pipeline.analysis.frontend import EPS, Spectra
from dj_pipeline.config.analysis import TempoConfig


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / max(float(x.max(initial=0.0)), EPS)


def sound_start_frame(spec: Spectra, level_db: float) -> int | None:
    """First STFT frame whose mean-square level is above ``level_db`` dBFS."""
    n_fft = 2 * (spec.power.shape[0] - 1)
    # Parseval with a Hann window (sum w^2 = 3n/8), one-sided spectrum: mean square of the frame
    ms = spec.power.sum(axis=0) * 16.0 / (3.0 * n_fft * n_fft)
    above = np.flatnonzero(10.0 * np.log10(np.maximum(ms, EPS)) > level_db)
    return int(above[0]) if above.size else None


def first_downbeat_s(intro: Spectra, bpm: float, cfg: TempoConfig) -> float | None:
    """Time (s from the window start) of the first downbeat at or after the music starts."""
    fps = intro.fps
    period = 60.0 * fps / bpm
    low = _unit(intro.onset_low)
    o = _unit(intro.onset_body) + low
    if o.size < 2 * period:
        return None
    start = sound_start_frame(intro, cfg.sound_start_db)
    if start is None:
        return None
    idx = np.arange(o.size)
    phases = np.arange(0.0, period, 0.25)
    n_beats = int((o.size - 1) // period)
    scores = np.interp(np.arange(n_beats)[None, :] * period + phases[:, None], idx, o).sum(axis=1)
    phase = float(phases[int(np.argmax(scores))])
    beats = phase + np.arange(-1, n_beats + 1) * period  # one beat before frame 0 (onset lead)
    lead_frames = intro.onset_lead_s * fps
    beats = beats[(beats + lead_frames >= start - period / 2) & (beats < o.size)]
    if beats.size == 0:
        return None
    evidence = np.where(beats >= 1.0, np.interp(beats, idx, low), np.nan)  # frame 0 has no flux
    bar = np.array([np.nanmean(evidence[j::4]) if np.isfinite(evidence[j::4]).any() else 0.0 for j in range(4)])
    bar[0] += cfg.downbeat_first_beat_bonus * max(float(bar.max()), EPS)
    down = int(np.argmax(bar))
    return round(max(float(beats[down]) / fps + intro.onset_lead_s, 0.0), 3)
