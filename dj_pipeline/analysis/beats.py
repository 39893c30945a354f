"""Beat and downbeat tracking over a whole track, streamed: the beat grid behind ``track_beats``.

Why a whole-track pass and not the sampled windows: cue points and beat-matched mixing need a beat
at any time of the track, and a grid extrapolated from a few windows drifts or jumps over a tempo
change. The pass streams the file in blocks (:func:`dj_pipeline.audio.iter_blocks`), so memory is
bounded by the block size plus a few small curves per frame (a 2-hour mix never sits in memory).

1. Envelope (:func:`stream_beat_envelope`): a short-window (46 ms) log-mel spectral flux at ~86
   frames/s, its low band (kick) and a coarse band-energy curve (for harmonic/timbral change).
2. Beats (:func:`track_beats`): dynamic programming (Ellis 2007, librosa's tracker, :mod:`.beat_dp`) on the
   flux at the tempo the analysis chose, made time-varying by a local tempo curve (each
   ``local_window_s`` is searched within ``local_search_pct`` of the global tempo), so a tempo
   change bends the grid instead of breaking it. Where the drums stop (a breakdown) the onsets are
   flat and the DP keeps the beat period, so the grid runs on through the break.
3. Downbeats (:func:`downbeat_phase`): which beat of the bar is "1" = the phase whose beats carry
   the most kick onsets and the largest change of the band energies from the previous beat (chords
   and sections change on the one), each z-scored over the track.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import librosa
import numpy as np

from dj_pipeline.analysis.beat_dp import beat_frames
from dj_pipeline.analysis.frontend import EPS
from dj_pipeline.analysis.tempo import comb_salience, detrended_onset, onset_acf
from dj_pipeline.audio import iter_blocks
from dj_pipeline.audio.stft import mel_basis
from dj_pipeline.audio.stft import stft as short_time_ft
from dj_pipeline.config.analysis import AnalysisConfig, BeatsConfig


@dataclass(frozen=True)
class BeatEnvelope:
    """Frame curves of a whole track at ``fps`` (frame ``k`` is centred at ``k / fps`` s)."""

    onset: np.ndarray  # full-band log-mel flux, >= 0
    low: np.ndarray  # flux of the mel bands below ``low_max_hz`` (kick)
    bands: np.ndarray  # (n_change_bands, frames // change_decimation) mean log-mel per band group
    chroma: np.ndarray  # (12, frames // change_decimation) log chroma, unit norm per frame (harmonic change)
    fps: float
    duration_s: float


@dataclass(frozen=True)
class BeatTrack:
    """Beat times (s), their position in the bar (1 = downbeat) and the downbeat times."""

    beats_s: np.ndarray
    bar_pos: np.ndarray
    downbeats_s: np.ndarray
    reason: str | None = None

    @classmethod
    def empty(cls, reason: str) -> BeatTrack:
        z = np.zeros(0)
        return cls(z, np.zeros(0, dtype=np.int8), z, reason)


class _FluxStream:
    """Short-window log-mel flux over consecutive blocks, seamless across block boundaries."""

    def __init__(self, sr: int, cfg: BeatsConfig):
        self.sr, self.cfg = sr, cfg
        self.fb, freqs = mel_basis(sr, cfg.n_fft, cfg.n_mels, cfg.fmin_hz)
        self.low_rows = freqs <= cfg.low_max_hz
        self.groups = np.array_split(np.arange(cfg.n_mels), cfg.n_change_bands)
        self.group_avg = np.zeros((len(self.groups), cfg.n_mels), np.float32)  # band-group means as one product
        for i, g in enumerate(self.groups):
            self.group_avg[i, g] = 1.0 / len(g)
        self.chroma_fb = librosa.filters.chroma(sr=sr, n_fft=cfg.n_fft).astype(np.float32)
        self.carry = np.zeros(cfg.n_fft // 2, np.float32)  # frame k is centred at k * hop
        self.last: np.ndarray | None = None
        self.onset: list[np.ndarray] = []
        self.low: list[np.ndarray] = []
        self.bands: list[np.ndarray] = []
        self.pending = np.zeros((cfg.n_change_bands + len(self.chroma_fb), 0), np.float32)  # band groups, then chroma rows

    def add(self, y: np.ndarray) -> None:
        cfg = self.cfg
        x = np.concatenate([self.carry, np.asarray(y, np.float32)])
        n_frames = (x.size - cfg.n_fft) // cfg.hop_length + 1
        if n_frames <= 0:
            self.carry = x
            return
        self.carry = x[n_frames * cfg.hop_length :]
        stft = short_time_ft(x[: (n_frames - 1) * cfg.hop_length + cfg.n_fft], cfg.n_fft, cfg.hop_length, center=False)
        power = stft.real**2 + stft.imag**2
        log_mel = 10.0 * np.log10(np.maximum(self.fb @ power, EPS))
        log_mel = np.maximum(log_mel, cfg.floor_db).astype(np.float32)
        prev = log_mel[:, :1] if self.last is None else self.last
        rise = np.maximum(0.0, np.diff(np.concatenate([prev, log_mel], axis=1), axis=1))
        self.last = log_mel[:, -1:]
        self.onset.append(rise.mean(axis=0))
        self.low.append(rise[self.low_rows].mean(axis=0) if self.low_rows.any() else rise[:1].mean(axis=0))
        chroma = np.log1p(cfg.chroma_compression * (self.chroma_fb @ power))
        chroma /= np.linalg.norm(chroma, axis=0, keepdims=True) + EPS
        grouped = np.concatenate([self.group_avg @ log_mel, chroma])
        self.pending = np.concatenate([self.pending, grouped], axis=1)
        k = self.pending.shape[1] // cfg.change_decimation * cfg.change_decimation
        if k:
            d = cfg.change_decimation
            self.bands.append(self.pending[:, :k].reshape(self.pending.shape[0], k // d, d).mean(axis=2))
            self.pending = self.pending[:, k:]

    def finish(self, duration_s: float) -> BeatEnvelope:
        self.add(np.zeros(self.cfg.n_fft // 2, np.float32))  # the last frames, centred on the end
        cat = lambda parts: np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)  # noqa: E731
        both = np.concatenate(self.bands, axis=1) if self.bands else np.zeros((self.pending.shape[0], 0), np.float32)
        n = len(self.groups)
        return BeatEnvelope(cat(self.onset), cat(self.low), both[:n], both[n:], self.sr / self.cfg.hop_length, duration_s)


def beat_envelope(y: np.ndarray, sr: int, cfg: BeatsConfig) -> BeatEnvelope:
    """The beat envelope of a signal already in memory (a window, a test signal)."""
    stream = _FluxStream(sr, cfg)
    stream.add(np.asarray(y, np.float32))
    return stream.finish(y.size / sr)


def stream_beat_envelope(path: str | os.PathLike, sr: int, cfg: BeatsConfig) -> BeatEnvelope:
    """The beat envelope of a whole file, decoded in ``cfg.block_s`` blocks (bounded memory)."""
    stream = _FluxStream(sr, cfg)
    total = 0
    for _, block in iter_blocks(path, sr=sr, block_s=cfg.block_s):
        stream.add(block)
        total += block.size
    return stream.finish(total / sr)


def local_tempo_curve(onset: np.ndarray, fps: float, bpm: float, cfg: BeatsConfig) -> np.ndarray:
    """Tempo (BPM) per frame: each ``local_window_s`` window's best comb tempo near ``bpm``, smoothed.

    Windows without a clear pulse (a breakdown) keep the neighbours' tempo; a track with one tempo
    gets a flat curve at (nearly) ``bpm``.
    """
    n = onset.size
    win = int(round(cfg.local_window_s * fps))
    if n < 2 * win or cfg.local_search_pct <= 0:
        return np.full(n, bpm)
    hop = max(1, int(round(cfg.local_hop_s * fps)))
    grid = bpm * np.geomspace(1 - cfg.local_search_pct / 100, 1 + cfg.local_search_pct / 100, 41)
    max_lag = int(np.ceil(60.0 * fps / grid[0] * 2)) + 2
    o = detrended_onset(onset, fps)
    centres, tempi = [], []
    for start in range(0, n - win + 1, hop):
        sal = comb_salience(onset_acf(o[start : start + win], max_lag), fps, grid, 2)
        if sal.max() > cfg.local_min_clarity:
            centres.append(start + win / 2)
            tempi.append(float(grid[int(np.argmax(sal))]))
    if len(tempi) < 2:
        return np.full(n, bpm)
    k = max(1, cfg.local_median_windows) | 1
    padded = np.pad(np.asarray(tempi), k // 2, mode="edge")
    smooth = np.median(np.lib.stride_tricks.sliding_window_view(padded, k), axis=1)
    return np.interp(np.arange(n), centres, smooth)


def band_change(bands: np.ndarray, beat_cols: np.ndarray, span_beats: int) -> np.ndarray:
    """Per beat: distance between the mean band energies of the ``span_beats`` beats after it and before it."""
    cols = np.clip(beat_cols, 0, bands.shape[1] - 1)
    csum = np.concatenate([np.zeros((bands.shape[0], 1)), np.cumsum(bands, axis=1)], axis=1)
    k = max(1, int(span_beats))
    idx = np.arange(cols.size)
    lo, hi = cols[np.clip(idx - k, 0, cols.size - 1)], cols[np.clip(idx + k, 0, cols.size - 1)]
    before = (csum[:, cols] - csum[:, lo]) / np.maximum(cols - lo, 1)
    after = (csum[:, hi] - csum[:, cols]) / np.maximum(hi - cols, 1)
    change = np.linalg.norm(after - before, axis=0)
    valid = (idx >= k) & (idx + k < cols.size)
    change[~valid] = change[valid].mean() if valid.any() else 0.0
    return change


def downbeat_phase(env: BeatEnvelope, beat_frames: np.ndarray, cfg: BeatsConfig) -> int:
    """Index (0 .. beats_per_bar - 1) of the first downbeat among ``beat_frames`` (see the module docstring)."""
    bpb = cfg.beats_per_bar
    if beat_frames.size < 2 * bpb:
        return 0
    reach = max(1, int(round(cfg.downbeat_reach_s * env.fps)))
    peak = lambda curve: np.array([curve[max(0, f - reach) : f + reach + 1].max(initial=0.0) for f in beat_frames])  # noqa: E731
    z = lambda v: (v - v.mean()) / (v.std() + EPS)  # noqa: E731
    evidence = cfg.downbeat_low_weight * z(peak(env.low)) + cfg.downbeat_onset_weight * z(peak(env.onset))
    cols = beat_frames // cfg.change_decimation
    if env.bands.shape[1] > 1 and cfg.downbeat_change_weight:
        evidence = evidence + cfg.downbeat_change_weight * z(band_change(env.bands, cols, cfg.downbeat_change_span_beats))
    if env.chroma.shape[1] > 1 and cfg.downbeat_chroma_weight:
        evidence = evidence + cfg.downbeat_chroma_weight * z(band_change(env.chroma, cols, cfg.downbeat_chroma_span_beats))
    scores = [float(evidence[j::bpb].mean()) for j in range(bpb)]
    return int(np.argmax(scores))


def fallback_bpm(env: BeatEnvelope, cfg: BeatsConfig) -> float | None:
    """The tracker's own tempo when the analysis found none: librosa's tempo estimate of the whole-track flux.

    The analysis reads a few sampled windows and may find no steady pulse (a loose blues or jazz
    take); the whole-track flux often still has one. ``None`` when that pulse is weaker than
    ``fallback_min_clarity`` (ACF comb salience), so a track with no beat still gets no grid.
    """
    sr = env.fps * cfg.hop_length
    bpm = float(librosa.feature.tempo(onset_envelope=env.onset, sr=sr, hop_length=cfg.hop_length)[0])
    o = detrended_onset(env.onset, env.fps)
    acf = onset_acf(o, int(np.ceil(60.0 * env.fps / bpm)) + 2)
    clarity = float(comb_salience(acf, env.fps, np.array([bpm]), 1)[0])
    return bpm if bpm > 0 and clarity >= cfg.fallback_min_clarity else None


def track_beats(env: BeatEnvelope, bpm: float | None, cfg: BeatsConfig) -> BeatTrack:
    """Beats and downbeats of a whole track at (about) ``bpm`` (see the module docstring)."""
    if env.onset.size < 4 or float(env.onset.max(initial=0.0)) <= EPS:
        return BeatTrack.empty("no beat grid: no onsets")
    if (bpm is None or not bpm > 0) and cfg.fallback_tempo:
        bpm = fallback_bpm(env, cfg)
    if bpm is None or not bpm > 0:
        return BeatTrack.empty("no beat grid: no tempo")
    tempo = local_tempo_curve(env.onset, env.fps, float(bpm), cfg)
    frames = beat_frames(env.onset, env.fps, tempo, cfg.tightness, cfg.trim)
    if frames.size == 0:
        return BeatTrack.empty("no beat grid: the tracker found no beats")
    first = downbeat_phase(env, frames, cfg)
    pos = ((np.arange(frames.size) - first) % cfg.beats_per_bar + 1).astype(np.int8)
    times = np.maximum(frames / env.fps + cfg.offset_s, 0.0)
    return BeatTrack(np.round(times, 4), pos, np.round(times[pos == 1], 4))


def file_beats(path: str | os.PathLike, bpm: float | None, config: AnalysisConfig) -> BeatTrack:
    """:func:`track_beats` over the streamed whole-track envelope of ``path`` (no analysed tempo: the fallback)."""
    if (bpm is None or not bpm > 0) and not config.beats.fallback_tempo:
        return BeatTrack.empty("no beat grid: no tempo")
    return track_beats(stream_beat_envelope(path, config.sr, config.beats), bpm, config.beats)
