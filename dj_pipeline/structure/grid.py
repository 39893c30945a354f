"""Bar and phrase grid: beats and downbeats from a tempo and a first downbeat, or from a beat array.

The narrow interface to the beat grid (issue 13): :func:`grid_from_tempo` takes what
``track_features`` has today (``bpm``, ``first_downbeat_s``) and refines the beat period and phase
over the whole track's onset envelope, so a tempo rounded to 0.01 BPM does not drift by a beat over
six minutes; :func:`grid_from_beats` takes a tracked beat array (and downbeats when known) as soon
as the beat tracker provides one. Both give a :class:`BeatGrid`; the rest of the structure layer
only sees bars (downbeat times).

:func:`grid_fit` says whether the grid follows the music: a tempo change or a free-time track
leaves most bars with no onsets on their beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.structure import GridConfig

_EPS = 1e-10


@dataclass(frozen=True)
class BeatGrid:
    """Beat and downbeat times (s) of a track; ``source`` says where they came from."""

    beats_s: np.ndarray
    downbeats_s: np.ndarray
    bpm: float
    source: str  # "tempo" (bpm + first downbeat, refined) or "beats" (a tracked beat array)

    @property
    def n_bars(self) -> int:
        return int(self.downbeats_s.size)

    @property
    def bar_s(self) -> float:
        return float(np.median(np.diff(self.downbeats_s))) if self.downbeats_s.size > 1 else 0.0


def grid_from_tempo(
    bpm: float,
    first_downbeat_s: float,
    duration_s: float,
    cfg: GridConfig,
    onset: np.ndarray | None = None,
    fps: float | None = None,
) -> BeatGrid:
    """A straight grid at ``bpm`` through ``first_downbeat_s``, extended back to the track start.

    With the track's ``onset`` envelope (at ``fps``), the beat period is refined within
    ``refine_period_pct`` and the phase within ``refine_phase_beats`` of the given downbeat: the
    pair whose beats collect the most onset strength over the whole track wins.
    """
    period_s = 60.0 / float(bpm)
    t0 = float(first_downbeat_s)
    if onset is not None and fps and onset.size:
        period_s, t0 = refine_grid(onset, fps, period_s, t0, cfg)
    bar_s = period_s * cfg.beats_per_bar
    t0 -= np.floor(t0 / bar_s + 1e-9) * bar_s  # earliest downbeat at or after 0 on this grid
    beats = t0 + period_s * np.arange(int(np.floor((duration_s - t0) / period_s)) + 1)
    beats = beats[beats < duration_s]
    return BeatGrid(beats, beats[:: cfg.beats_per_bar], round(60.0 / period_s, 3), "tempo")


def grid_from_beats(beats_s: np.ndarray, cfg: GridConfig, downbeats_s: np.ndarray | None = None) -> BeatGrid:
    """A grid from tracked beats; without downbeats, every ``beats_per_bar``-th beat from the first."""
    beats = np.sort(np.asarray(beats_s, dtype=np.float64))
    downs = beats[:: cfg.beats_per_bar] if downbeats_s is None else np.sort(np.asarray(downbeats_s, dtype=np.float64))
    bpm = 60.0 / float(np.median(np.diff(beats))) if beats.size > 1 else 0.0
    return BeatGrid(beats, downs, round(bpm, 3), "beats")


def refine_grid(onset: np.ndarray, fps: float, period_s: float, t0_s: float, cfg: GridConfig) -> tuple[float, float]:
    """``(period_s, t0_s)`` maximising the mean onset strength at the beats, near the given pair."""
    o = np.asarray(onset, dtype=np.float64)
    o = o - np.convolve(o, np.ones(int(fps) | 1) / (int(fps) | 1), mode="same")  # pulses, not loudness
    frames = np.arange(o.size)
    periods = period_s * (1.0 + np.linspace(-1.0, 1.0, cfg.refine_steps) * cfg.refine_period_pct / 100.0)
    phases = t0_s + period_s * np.linspace(-cfg.refine_phase_beats, cfg.refine_phase_beats, 9)
    duration_s = o.size / fps
    best = (-np.inf, period_s, t0_s)
    for p in periods:
        k = np.arange(-int(t0_s / p) - 1, int((duration_s - t0_s) / p) + 1)
        for t in phases:
            times = t + k * p
            times = times[(times >= 0) & (times < duration_s)]
            if times.size < 2:
                continue
            score = float(np.interp(times * fps, frames, o).mean())
            if score > best[0]:
                best = (score, float(p), float(t))
    return best[1], best[2]


def grid_fit(onset: np.ndarray, fps: float, grid: BeatGrid, cfg: GridConfig) -> tuple[float, np.ndarray]:
    """Share of active bars whose beats carry ``fit_min_ratio`` x the bar's mean onset strength.

    Returns ``(share, fits)`` with one boolean per bar; bars with almost no onsets (silence, a pad)
    count as neither. A tempo change makes the grid slide off the beats: the share drops.
    """
    o = np.asarray(onset, dtype=np.float64)
    if o.size == 0 or grid.n_bars == 0:
        return 0.0, np.zeros(grid.n_bars, dtype=bool)
    frames = np.arange(o.size)
    edges = np.append(grid.downbeats_s, grid.downbeats_s[-1] + max(grid.bar_s, 60.0 / max(grid.bpm, _EPS) * cfg.beats_per_bar))
    lo = np.clip((edges[:-1] * fps).astype(int), 0, o.size)
    hi = np.clip((edges[1:] * fps).astype(int), 0, o.size)
    csum = np.concatenate([[0.0], np.cumsum(o)])
    bar_mean = (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)
    on_beats = np.interp(grid.beats_s * fps, frames, o)
    bar_of_beat = np.clip(np.searchsorted(grid.downbeats_s, grid.beats_s, side="right") - 1, 0, grid.n_bars - 1)
    beat_mean = np.bincount(bar_of_beat, weights=on_beats, minlength=grid.n_bars) / np.maximum(
        np.bincount(bar_of_beat, minlength=grid.n_bars), 1
    )
    active = bar_mean > 0.25 * float(np.mean(o)) + _EPS
    fits = active & (beat_mean >= cfg.fit_min_ratio * bar_mean)
    share = float(fits.sum() / active.sum()) if active.any() else 0.0
    return share, fits


def phrase_starts(n_bars: int, phase_bar: int, phrase_bars: int) -> np.ndarray:
    """Bar indices of the phrase starts: every ``phrase_bars`` bars from ``phase_bar`` (mod the phrase)."""
    first = phase_bar % phrase_bars if phrase_bars > 0 else 0
    return np.arange(first, n_bars, max(phrase_bars, 1))
