"""Bar and phrase grid: beats and downbeats from a tempo and a first downbeat, or from a beat array.

The narrow interface to the beat grid (issue 13): :func:`grid_from_tempo` takes what
``track_features`` has today (``bpm``, ``first_downbeat_s``) and refines the beat period and phase
over the whole track's onset envelope, so a tempo rounded to 0.01 BPM does not drift by a beat over
six minutes; :func:`grid_from_beats` takes a tracked beat array (and downbeats when known) as soon
as the beat tracker provides one. Both give a :class:`BeatGrid`; the rest of the structure layer
only sees bars (downbeat times).

:func:`beat_phase_fit` says whether the grid follows the music: a tempo change slides the
onsets off the grid's beats, a free-time track has no pulse to sit on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.structure import GridConfig

_EPS = 1e-10
EDGE_SLACK_BEATS = 0.25  # extend_beats: a beat this share of a period before 0 s is kept (at 0 s)


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
    pair whose beats collect the most onset strength over the whole track wins. When that grid does
    not fit the music (``fit_min_share``), a wide beat-phase search (``coarse_phase_beats``) is tried
    and kept if it fits better (real music keeps its given phase: on GTZAN the wide search for every
    track lowered downbeat F).
    """
    period_s = 60.0 / float(bpm)
    t0 = float(first_downbeat_s)
    if onset is None or not fps or not onset.size:
        return _straight_grid(period_s, t0, duration_s, cfg)
    grid = _straight_grid(*refine_grid(onset, fps, period_s, t0, cfg), duration_s, cfg)
    if cfg.coarse_phase_beats > 0 and (fit := beat_phase_fit(onset, fps, grid, cfg)[0]) < cfg.fit_min_share:
        # the given downbeat may sit between beats: search the beat phase widely, keep it when it fits better
        alt = _straight_grid(*refine_grid(onset, fps, period_s, t0, cfg, coarse=True), duration_s, cfg)
        grid = alt if beat_phase_fit(onset, fps, alt, cfg)[0] > fit else grid
    return grid


def _straight_grid(period_s: float, t0: float, duration_s: float, cfg: GridConfig) -> BeatGrid:
    bar_s = period_s * cfg.beats_per_bar
    t0 -= np.floor(t0 / bar_s + 1e-9) * bar_s  # earliest downbeat at or after 0 on this grid
    beats = t0 + period_s * np.arange(int(np.floor((duration_s - t0) / period_s)) + 1)
    beats = beats[beats < duration_s]
    return BeatGrid(beats, beats[:: cfg.beats_per_bar], round(60.0 / period_s, 3), "tempo")


def grid_from_beats(
    beats_s: np.ndarray, cfg: GridConfig, downbeats_s: np.ndarray | None = None, duration_s: float | None = None
) -> BeatGrid:
    """A grid from tracked beats; without downbeats, every ``beats_per_bar``-th beat from the first.

    With ``duration_s`` (and ``cfg.extend_beats``), the grid runs on before the first and after the
    last tracked beat to the track's ends (at the edge beats' period, counting bars on): a tracker
    that trims a quiet intro must not take the intro's first bars (where a DJ mixes in) off the grid.
    """
    beats = np.sort(np.asarray(beats_s, dtype=np.float64))
    downs = beats[:: cfg.beats_per_bar] if downbeats_s is None else np.sort(np.asarray(downbeats_s, dtype=np.float64))
    if duration_s is not None and cfg.extend_beats and beats.size > cfg.beats_per_bar and downs.size:
        beats, downs = extend_beats(beats, downs, float(duration_s), cfg)
    bpm = 60.0 / float(np.median(np.diff(beats))) if beats.size > 1 else 0.0
    return BeatGrid(beats, downs, round(bpm, 3), "beats")


def extend_beats(beats: np.ndarray, downs: np.ndarray, duration_s: float, cfg: GridConfig) -> tuple[np.ndarray, np.ndarray]:
    """``beats`` continued back to 0 s and on to ``duration_s`` at the median period of the
    ``beats_per_bar`` * 2 edge beats, and ``downs`` continued with the same bar count."""
    bpb = cfg.beats_per_bar
    edge = 2 * bpb + 1
    p_first, p_last = float(np.median(np.diff(beats[:edge]))), float(np.median(np.diff(beats[-edge:])))
    if not (p_first > 0 and p_last > 0):
        return beats, downs
    n_pre = int(np.floor(beats[0] / p_first + EDGE_SLACK_BEATS))  # a beat just before 0 s (early tracking) sits at 0 s
    n_post = max(0, int(np.ceil((duration_s - beats[-1]) / p_last - 1e-9)) - 1)
    pre = np.maximum(beats[0] - p_first * np.arange(n_pre, 0, -1), 0.0)
    post = beats[-1] + p_last * np.arange(1, n_post + 1)
    first_i = int(np.argmin(np.abs(beats - downs[0])))  # the first downbeat's beat index
    last_i = int(np.argmin(np.abs(beats - downs[-1])))
    pre_downs = pre[(first_i + n_pre - np.arange(n_pre)) % bpb == 0]
    post_downs = post[(beats.size + np.arange(n_post) - last_i) % bpb == 0]
    return np.concatenate([pre, beats, post]), np.concatenate([pre_downs, downs, post_downs])


def refine_grid(onset: np.ndarray, fps: float, period_s: float, t0_s: float, cfg: GridConfig, coarse: bool = False) -> tuple[float, float]:
    """``(period_s, t0_s)`` maximising the mean onset strength at the beats, near the given pair.

    Coarse to fine: ``refine_steps`` periods over +-``refine_period_pct``, then the same number
    within one coarse step of the best, each with phases within +-``refine_phase_beats`` (of the best
    phase within +-``coarse_phase_beats`` at the given period).
    """
    o = np.asarray(onset, dtype=np.float64)
    o = o - np.convolve(o, np.ones(int(fps) | 1) / (int(fps) | 1), mode="same")  # pulses, not loudness
    frames = np.arange(o.size)
    duration_s = o.size / fps
    starts = [t0_s]
    if coarse and cfg.coarse_phase_beats > 0:  # the given downbeat may sit between beats (an off-beat half a beat late)
        coarse = _best_phase(o, fps, period_s, t0_s, np.arange(-cfg.coarse_phase_beats, cfg.coarse_phase_beats + 1e-9, 1.0 / 16))
        starts += [coarse] if abs(coarse - t0_s) > cfg.refine_phase_beats * period_s else []
    phases = np.linspace(-cfg.refine_phase_beats, cfg.refine_phase_beats, 9)
    best = (-np.inf, period_s, t0_s)
    half = cfg.refine_period_pct / 100.0
    for start in starts:  # the fine search from the given downbeat and from the best coarse phase; the better wins
        t0_s, around = start, (-np.inf, period_s, start)
        for center, width in ((period_s, half), (None, 2.0 * half / max(cfg.refine_steps - 1, 1))):
            c = around[1] if center is None else center
            for p in c * (1.0 + np.linspace(-width, width, cfg.refine_steps)):
                k = np.arange(-int(t0_s / p) - 1, int((duration_s - t0_s) / p) + 1)
                for t in t0_s + period_s * phases:
                    times = t + k * p
                    times = times[(times >= 0) & (times < duration_s)]
                    if times.size < 2:
                        continue
                    score = float(np.interp(times * fps, frames, o).mean())
                    if score > around[0]:
                        around = (score, float(p), float(t))
        best = max(best, around, key=lambda b: b[0])
    return best[1], best[2]


def _best_phase(o: np.ndarray, fps: float, period_s: float, t0_s: float, shifts_beats: np.ndarray) -> float:
    """The downbeat time among ``t0_s + shift * period_s`` whose beats collect the most onset strength."""
    duration_s = o.size / fps
    frames = np.arange(o.size)
    k = np.arange(-int(t0_s / period_s) - 1, int((duration_s - t0_s) / period_s) + 2)
    best, out = -np.inf, t0_s
    for shift in shifts_beats:
        times = t0_s + period_s * (shift + k)
        times = times[(times >= 0) & (times < duration_s)]
        score = float(np.interp(times * fps, frames, o).mean()) if times.size >= 2 else -np.inf
        if score > best:
            best, out = score, float(t0_s + shift * period_s)
    return out


def beat_phase_fit(onset: np.ndarray, fps: float, grid: BeatGrid, cfg: GridConfig) -> tuple[float, np.ndarray, np.ndarray]:
    """Whether each bar has a pulse, and whether the grid's beats sit on it.

    For each window of ``fit_window_bars`` bars the onset strength is sampled on the grid's beats
    shifted by ``k / phase_steps`` of a beat. ``pulse``: the best shift collects ``pulse_min_contrast``
    x the mean over all shifts (a beat is there, syncopated or not). ``fits``: a pulse whose best
    shift is within ``fit_tolerance_beats`` of the grid (a tempo change slides it away), or on the
    off-beat while the shifts on the grid collect at least ``fit_min_ratio`` x as much (an off-beat
    hi-hat or bass a little louder than the kick does not throw the grid off).
    Returns ``(share of pulse bars that fit, pulse, fits)``, one boolean per bar.
    """
    o = np.asarray(onset, dtype=np.float64)
    n = grid.n_bars
    pulse = np.zeros(n, dtype=bool)
    fits = np.zeros(n, dtype=bool)
    if o.size == 0 or n == 0 or grid.beats_s.size < 2:
        return 0.0, pulse, fits
    frames = np.arange(o.size)
    period = float(np.median(np.diff(grid.beats_s)))
    shifts = np.arange(cfg.phase_steps) / cfg.phase_steps
    on_beat = np.minimum(shifts, 1.0 - shifts) <= cfg.fit_tolerance_beats
    quarter = np.abs(np.abs(shifts - 0.5) - 0.25) <= cfg.fit_tolerance_beats  # between the beat and the off-beat
    bar_of_beat = np.searchsorted(grid.downbeats_s, grid.beats_s, side="right") - 1
    w = max(1, cfg.fit_window_bars)
    for a in range(0, n, w):
        beats = grid.beats_s[(bar_of_beat >= a) & (bar_of_beat < a + w)]
        if beats.size < 2:
            continue
        comb = np.interp((beats[None, :] + shifts[:, None] * period) * fps, frames, o).mean(axis=1)
        if comb.mean() <= _EPS or comb.max() < cfg.pulse_min_contrast * comb.mean():
            continue
        best = float(shifts[int(np.argmax(comb))])
        off_beat = (
            abs(best - 0.5) <= cfg.fit_tolerance_beats
            and comb[on_beat].max() >= cfg.fit_min_ratio * comb.max()
            and comb[quarter].max() <= (1.0 - cfg.fit_min_ratio) * comb.max()
        )
        pulse[a : a + w] = True
        fits[a : a + w] = min(best, 1.0 - best) <= cfg.fit_tolerance_beats or off_beat
    share = float(fits.sum() / pulse.sum()) if pulse.any() else 0.0
    return share, pulse, fits


def phrase_starts(n_bars: int, phase_bar: int, phrase_bars: int) -> np.ndarray:
    """Bar indices of the phrase starts: every ``phrase_bars`` bars from ``phase_bar`` (mod the phrase)."""
    first = phase_bar % phrase_bars if phrase_bars > 0 else 0
    return np.arange(first, n_bars, max(phrase_bars, 1))
