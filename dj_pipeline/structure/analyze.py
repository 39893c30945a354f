"""A track's structure from its streamed envelope and its beat grid: bars, phrases, sections, cues.

:func:`structure_of_envelope` is pure (numpy in, dataclasses out); :func:`analyze_structure`
streams a file's envelope first (the windows stage's pass, constant memory: a 2-hour mix costs
the RAM of a 3-minute single). Nothing raises on bad input: silence, no tempo, a track shorter
than ``grid.min_bars`` bars or a grid that does not follow the music (a tempo change) give NULL
cues with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np

from dj_pipeline.config.structure import StructureConfig, load_structure_config
from dj_pipeline.config.windows import EnvelopeConfig, load_windows_config
from dj_pipeline.structure.cues import Cue, find_cues, null_cues
from dj_pipeline.structure.grid import BeatGrid, beat_phase_fit, grid_from_beats, grid_from_tempo
from dj_pipeline.structure.sections import BarCurves, Section, audible_span, bar_curves, bar_novelty, make_sections, pick_boundaries
from dj_pipeline.windows.envelope import TrackEnvelope, compute_envelope


@dataclass(frozen=True)
class TrackStructure:
    """Everything the structure layer knows about a track (bars are 0-based from the first downbeat)."""

    duration_s: float
    grid: BeatGrid | None = None
    sections: list[Section] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    fit_share: float = 0.0
    phrase_phase: int = 0  # bar index (mod the hypermeter) where phrases start
    curves: BarCurves | None = None
    reason: str | None = None  # why cues are NULL (or a caveat)

    def cue(self, kind: str) -> Cue | None:
        return next((c for c in self.cues if c.type == kind), None)


def structure_of_envelope(
    env: TrackEnvelope,
    bpm: float | None,
    first_downbeat_s: float | None,
    cfg: StructureConfig | None = None,
    bpm_confidence: float | None = None,
    beats_s: np.ndarray | None = None,
    downbeats_s: np.ndarray | None = None,
) -> TrackStructure:
    """Structure of a track from its envelope and its tempo (or tracked beats when given)."""
    cfg = cfg or load_structure_config()
    duration_s = float(env.duration_s)
    low = env.low_db if env.low_db is not None else env.rms_db
    if env.rms_db.size == 0 or float(env.rms_db.max()) < cfg.sections.silence_db:
        return _unreliable(duration_s, "silent: no audible bars")
    env = event_aligned(env)
    grid, note, fit = _grid(env, bpm, first_downbeat_s, bpm_confidence, beats_s, downbeats_s, cfg)
    if grid is None:
        return _unreliable(duration_s, note)
    if grid.n_bars < cfg.grid.min_bars:
        return _unreliable(duration_s, f"too short for phrases: {grid.n_bars} bars (< {cfg.grid.min_bars})", grid)
    fit_share, pulse, _ = fit or beat_phase_fit(env.onset, env.fps, grid, cfg.grid)
    curves = bar_curves(env.rms_db, low, env.onset, env.fps, grid.downbeats_s, grid.bar_s, pulse, cfg.sections)
    span = audible_span(curves, cfg.sections)
    novelty = bar_novelty(curves, span, cfg.sections)
    boundaries, phase = pick_boundaries(novelty, span, cfg.grid.hypermeter_bars, cfg.sections)
    sections = make_sections(curves, boundaries, span, novelty, cfg.labels)
    if fit_share < cfg.grid.fit_min_share:
        reason = f"beat grid does not follow the music ({100 * fit_share:.0f} % of bars fit): tempo change or no steady beat"
        return TrackStructure(duration_s, grid, sections, null_cues(reason), round(fit_share, 3), phase, curves, reason)
    cues = find_cues(
        sections, grid.downbeats_s, grid.bar_s, duration_s, fit_share, phase, cfg.grid.hypermeter_bars, cfg.grid.phrase_bars, cfg.cues
    )
    return TrackStructure(duration_s, grid, sections, cues, round(fit_share, 3), phase, curves, note)


Fit = tuple[float, np.ndarray, np.ndarray]  # beat_phase_fit: (share of pulse bars that fit, pulse, fits)


def _grid(
    env: TrackEnvelope,
    bpm: float | None,
    first_downbeat_s: float | None,
    bpm_confidence: float | None,
    beats_s: np.ndarray | None,
    downbeats_s: np.ndarray | None,
    cfg: StructureConfig,
) -> tuple[BeatGrid | None, str | None, Fit | None]:
    """The beat grid, a caveat and its :func:`beat_phase_fit` when already measured (else ``None``),
    or ``(None, reason, None)`` when there is none.

    Tracked beats (``track_beats``) come first. When they do not follow the music
    (``fit_min_share``: the tracker slipped, e.g. onto the off-beats of a broken beat) and
    ``tempo_fallback`` is on, the straight tempo grid through their first downbeat replaces them
    if it fits better (dance music keeps one tempo; a real tempo change fits neither); its beat
    phase is searched within ``fallback_phase_beats`` (the tracker's downbeat may be an off-beat).
    """
    if beats_s is None or np.asarray(beats_s).size < 2:
        return (*_tempo_grid(env, bpm, first_downbeat_s, bpm_confidence, cfg), None)
    tracked = grid_from_beats(np.asarray(beats_s), cfg.grid, downbeats_s, env.duration_s)
    if not cfg.grid.tempo_fallback or not _has_tempo(bpm):
        return tracked, None, None
    fit = beat_phase_fit(env.onset, env.fps, tracked, cfg.grid)
    if fit[0] >= cfg.grid.fit_min_share:
        return tracked, None, fit
    first = float(tracked.downbeats_s[0]) if tracked.downbeats_s.size else first_downbeat_s
    wide = replace(cfg, grid=replace(cfg.grid, coarse_phase_beats=cfg.grid.fallback_phase_beats))  # a slipped tracker may sit on off-beats
    straight, _ = _tempo_grid(env, bpm, first, bpm_confidence, wide)
    straight_fit = beat_phase_fit(env.onset, env.fps, straight, cfg.grid) if straight is not None else None
    if straight_fit is None or straight_fit[0] <= fit[0]:
        return tracked, None, fit
    return straight, "tracked beats do not follow the music: straight grid from the tempo", straight_fit


def _tempo_grid(
    env: TrackEnvelope, bpm: float | None, first_downbeat_s: float | None, bpm_confidence: float | None, cfg: StructureConfig
) -> tuple[BeatGrid | None, str | None]:
    """The refined straight grid at ``bpm`` through ``first_downbeat_s``, or ``(None, reason)``."""
    if not _has_tempo(bpm):
        return None, "no beat grid: no tempo (no steady beat)"
    if bpm_confidence is not None and np.isfinite(bpm_confidence) and bpm_confidence < cfg.grid.min_bpm_confidence:
        return None, f"no beat grid: pulse clarity {bpm_confidence:.2f} < {cfg.grid.min_bpm_confidence:g}"
    note = None
    if first_downbeat_s is None or not np.isfinite(first_downbeat_s):
        loud = np.flatnonzero(env.rms_db > cfg.sections.silence_db)
        first_downbeat_s = float(loud[0]) / env.fps if loud.size else 0.0
        note = "first downbeat unknown: grid starts at the first sound"
    return grid_from_tempo(float(bpm), float(first_downbeat_s), env.duration_s, cfg.grid, env.onset, env.fps), note


def _has_tempo(bpm: float | None) -> bool:
    return bpm is not None and bool(np.isfinite(bpm)) and bpm > 0


def event_aligned(env: TrackEnvelope) -> TrackEnvelope:
    """The envelope with its onset curve moved earlier by ``onset_delay_s``, so beats found on it
    are the events' times (on the GTZAN tune half, a quarter FFT window: downbeat F 0.23 -> 0.27)."""
    if env.onset_delay_s <= 0 or env.onset.size < 2:
        return env
    frames = np.arange(env.onset.size, dtype=np.float64)
    onset = np.interp(frames + env.onset_delay_s * env.fps, frames, env.onset, right=0.0).astype(np.float32)
    return replace(env, onset=onset, onset_delay_s=0.0)


def _unreliable(duration_s: float, reason: str, grid: BeatGrid | None = None) -> TrackStructure:
    return TrackStructure(duration_s, grid, [], null_cues(reason), 0.0, 0, None, reason)


def analyze_structure(
    path: str | os.PathLike,
    bpm: float | None,
    first_downbeat_s: float | None,
    bpm_confidence: float | None = None,
    cfg: StructureConfig | None = None,
    envelope: EnvelopeConfig | None = None,
    beats_s: np.ndarray | None = None,
    downbeats_s: np.ndarray | None = None,
) -> TrackStructure:
    """Stream ``path``'s envelope (constant memory) and return its structure (on ``beats_s`` /
    ``downbeats_s`` from ``track_beats`` when given, else on ``bpm`` + ``first_downbeat_s``)."""
    env = compute_envelope(path, envelope or load_windows_config().envelope)
    return structure_of_envelope(env, bpm, first_downbeat_s, cfg, bpm_confidence, beats_s, downbeats_s)
