"""Musical key: tuning-robust peak chroma, profile correlation, per-section consensus, clarity.

1. A long-window STFT (``key.n_fft``, ~0.75 s at 11025 Hz) resolves low notes. Only spectral
   peaks are kept; each peak's frequency is refined by parabolic interpolation on the log
   magnitude. Peaks ``salient_ratio`` above the mean level of the surrounding ``peak_context_hz``
   make the chroma; peaks ``guard_salient_ratio`` above it are partials, not noise: with fewer
   than ``min_salient_peaks_per_s`` of those the key is NULL.
2. Tuning: the magnitude-weighted circular mean of the peaks' deviation from the equal-tempered
   grid (a track mastered at A = 435 Hz or pitched +30 cents keeps its key).
3. Chroma: each peak adds ``log(1 + gamma * magnitude)`` to its pitch class, weighted by how close
   it sits to the (tuned) semitone centre.
4. Sections of ``section_s`` are correlated (Pearson) with the 24 rotated key templates of the
   configured profile. Each section votes for its best key (weight = its chroma energy share **
   power); a key's score is ``vote_weight`` x its vote share + the rest x its weighted mean
   correlation, so one decisive breakdown in the relative major cannot outvote three sections in
   the minor key that each prefer it by a small margin. Clarity maps the winner's score margin
   over the runner-up to 0..1; consensus is the vote share of the winner.
4'. With ``profile: learned`` (the default) the key is the most probable of a small learned model
   (:mod:`dj_pipeline.analysis.key_model`: two learned profiles on a log-chroma and a mode prior,
   fitted on real and generated music, see ``profiles.LEARNED_MODELS``) on the track's whole
   chroma, blended with the sections' votes (``learned_vote_weight``) so that a breakdown in the
   relative major does not flip a minor track; clarity maps the blend's log margin over the runner-up to 0..1
   (``learned_clarity_scale``), the relative major/minor left out (it shares the scale, the
   Camelot number and the mix), consensus is the mass share of the sections whose own most
   probable key it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import uniform_filter1d

from dj_pipeline.analysis.frontend import EPS
from dj_pipeline.analysis.key_model import KeyModel, key_logits, key_probabilities
from dj_pipeline.analysis.profiles import key_templates, learned_model
from dj_pipeline.audio.stft import stft
from dj_pipeline.config.analysis import KeyConfig
from dj_pipeline.music.keys import camelot_code, key_name


@dataclass(frozen=True)
class KeyResult:
    root: int | None
    mode: str | None
    clarity: float | None
    consensus: float | None
    tuning_cents: float | None
    scores: np.ndarray | None = None  # 24 correlation scores (C..B major, C..B minor)
    reason: str | None = None

    @property
    def name(self) -> str | None:
        return key_name(self.root, self.mode) if self.root is not None and self.mode else None

    @property
    def camelot(self) -> str | None:
        return camelot_code(self.root, self.mode) if self.root is not None and self.mode else None


@dataclass(frozen=True)
class Peaks:
    """Spectral peaks of a key STFT: frame index, MIDI pitch (fractional) and magnitude."""

    frame: np.ndarray
    pitch: np.ndarray
    mag: np.ndarray
    n_frames: int
    salient: np.ndarray  # bool: the peak stands ``salient_ratio`` above its surroundings


def spectral_peaks(y: np.ndarray, sr: int, cfg: KeyConfig) -> Peaks:
    """Peaks (local maxima along frequency) of the key STFT between ``fmin_hz`` and ``fmax_hz``."""
    n_fft, hop = cfg.n_fft, cfg.hop_length
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    mag = np.abs(stft(y, n_fft, hop, window=np.hanning(n_fft).astype(np.float32), center=False))  # (bins, frames)
    n_frames = mag.shape[1]
    bin_hz = sr / n_fft
    lo = max(2, int(np.floor(cfg.fmin_hz / bin_hz)))
    hi = min(mag.shape[0] - 2, int(np.ceil(cfg.fmax_hz / bin_hz)))
    band = mag[lo - 1 : hi + 2]
    centre = band[1:-1]
    is_peak = (centre > band[:-2]) & (centre >= band[2:])
    if not cfg.peak_only:
        is_peak = np.ones_like(is_peak)
    floor = centre.max() * 1e-4 if centre.size else 0.0
    is_peak &= centre > floor
    # salient: well above the mean level around it (a partial, not noise or drum hiss)
    width = max(3, int(round(cfg.peak_context_hz / bin_hz)) | 1)
    local_mean = uniform_filter1d(centre, width, axis=0, mode="nearest")
    if cfg.salient_only:
        is_peak &= centre > cfg.salient_ratio * local_mean
    salient_map = centre > cfg.guard_salient_ratio * local_mean  # counted by the "no tonal content" guard
    k, t = np.nonzero(is_peak)
    la = np.log(band[k, t] + EPS)
    lb = np.log(band[k + 1, t] + EPS)
    lc = np.log(band[k + 2, t] + EPS)
    denom = la - 2 * lb + lc
    shift = np.where(np.abs(denom) > EPS, 0.5 * (la - lc) / np.where(np.abs(denom) > EPS, denom, 1.0), 0.0)
    freq = (lo + k + np.clip(shift, -0.5, 0.5)) * bin_hz
    pitch = 69.0 + 12.0 * np.log2(np.maximum(freq, EPS) / 440.0)
    return Peaks(t, pitch, band[k + 1, t], int(n_frames), salient_map[k, t])


def estimate_tuning(peaks: Peaks, min_hz: float) -> float:
    """Deviation of the track from A440 equal temperament, in semitones in [-0.5, 0.5)."""
    min_pitch = 69.0 + 12.0 * np.log2(min_hz / 440.0)
    sel = peaks.pitch >= min_pitch
    if not np.any(sel):
        return 0.0
    angle = 2 * np.pi * (peaks.pitch[sel] - np.round(peaks.pitch[sel]))
    w = peaks.mag[sel]
    mean_angle = np.arctan2((w * np.sin(angle)).sum(), (w * np.cos(angle)).sum())
    return float(mean_angle / (2 * np.pi))


# Partials 3 and 5 of a note land on other pitch classes (+19.02 and +27.86 semitones): its fifth
# and major third. Octave partials (2, 4) keep the pitch class and need no care.
_FOREIGN_PARTIALS_ST = (19.02, 27.86)


def overtone_mask(peaks: Peaks, tolerance_st: float = 0.3) -> np.ndarray:
    """True for peaks that sit where partial 3 or 5 of a lower peak of the same frame would be."""
    if peaks.pitch.size == 0:
        return np.zeros(0, dtype=bool)
    step = 0.05  # semitone grid of the frame/pitch search key
    span = float(np.ceil((peaks.pitch.max() + 1.0) / step)) + 64.0
    key = peaks.frame * span + np.round(peaks.pitch / step)
    order = np.sort(key)
    found = np.zeros(peaks.pitch.size, dtype=bool)
    for interval in _FOREIGN_PARTIALS_ST:
        lo = peaks.frame * span + np.round((peaks.pitch - interval - tolerance_st) / step)
        hi = peaks.frame * span + np.round((peaks.pitch - interval + tolerance_st) / step)
        found |= np.searchsorted(order, hi, side="right") > np.searchsorted(order, lo, side="left")
    return found


def peak_chroma(peaks: Peaks, tuning: float, cfg: KeyConfig) -> np.ndarray:
    """Chroma (12, frames) from peaks, log-compressed and weighted by closeness to the semitone.

    Peaks that may be partial 3 or 5 of a lower note count ``overtone_weight`` (they would lend
    the note's fifth and third weight the music does not give them).
    """
    chroma = np.zeros((12, peaks.n_frames))
    if peaks.pitch.size == 0:
        return chroma
    p = peaks.pitch - tuning
    nearest = np.round(p)
    closeness = np.cos(np.pi * (p - nearest)) ** 2
    if cfg.overtone_weight < 1.0:
        closeness = np.where(overtone_mask(peaks), cfg.overtone_weight, 1.0) * closeness
    scale = float(peaks.mag.max())
    value = np.log1p(cfg.log_gamma * peaks.mag / max(scale, EPS)) * closeness
    pc = (nearest.astype(np.int64) % 12) + 0  # MIDI 60 = C -> pitch class 0
    np.add.at(chroma, (pc, peaks.frame), value)
    return chroma


def section_chromas(chroma: np.ndarray, frames_per_section: int) -> np.ndarray:
    """Sum chroma frames into sections: (n_sections, 12); a short tail joins the last section."""
    n = chroma.shape[1]
    if n == 0:
        return np.zeros((0, 12))
    step = max(1, frames_per_section)
    bounds = list(range(0, n, step))
    if len(bounds) > 1 and n - bounds[-1] < step // 2:
        bounds.pop()
    bounds.append(n)
    return np.stack([chroma[:, a:b].sum(axis=1) for a, b in zip(bounds[:-1], bounds[1:])])


def correlate_keys(chroma12: np.ndarray, templates: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``chroma12`` (n, 12) with the 24 templates -> (n, 24)."""
    c = np.atleast_2d(chroma12).astype(np.float64)
    sd = c.std(axis=1, keepdims=True)
    z = (c - c.mean(axis=1, keepdims=True)) / np.where(sd > EPS, sd, 1.0)
    return z @ templates.T / 12.0


@dataclass(frozen=True)
class KeyChroma:
    """Per-section chroma of a track's sampled windows and its tuning, or why there is no key."""

    sections: np.ndarray | None  # (n_sections, 12)
    tuning: float | None  # semitones; set without sections only when the chroma is flat
    reason: str | None = None


def key_chroma(track_y: Sequence[np.ndarray], sr: int, cfg: KeyConfig) -> KeyChroma:
    """Tuned peak chroma per section (steps 1-3 of the module docstring), with the NULL guards."""
    peak_sets = [spectral_peaks(y, sr, cfg) for y in track_y if y.size]
    peak_sets = [p for p in peak_sets if p.pitch.size]
    seconds = sum(y.size for y in track_y) / sr
    salient_per_s = sum(int(p.salient.sum()) for p in peak_sets) / max(seconds, EPS)
    if salient_per_s < cfg.min_salient_peaks_per_s:
        return KeyChroma(None, None, f"no key: too few tonal peaks ({salient_per_s:.1f}/s)")
    tuning = estimate_tuning(
        Peaks(
            np.concatenate([p.frame for p in peak_sets]),
            np.concatenate([p.pitch for p in peak_sets]),
            np.concatenate([p.mag for p in peak_sets]),
            0,
            np.concatenate([p.salient for p in peak_sets]),
        ),
        cfg.tuning_min_hz,
    )
    frames_per_section = int(round(cfg.section_s * sr / cfg.hop_length))
    sections = np.concatenate([section_chromas(peak_chroma(p, tuning, cfg), frames_per_section) for p in peak_sets])
    if sections.sum() <= EPS:
        return KeyChroma(None, None, "no key: no tonal peaks")
    total = sections.sum(axis=0)
    if total.max() / max(total.mean(), EPS) < cfg.min_chroma_peak_ratio:
        return KeyChroma(None, tuning, "no key: flat chroma (no tonal content)")
    return KeyChroma(sections, tuning)


def profile_key_scores(sections: np.ndarray, cfg: KeyConfig) -> tuple[np.ndarray, np.ndarray]:
    """Profile correlation (step 4): ``(scores, votes)`` over the 24 keys from the section vote + mean."""
    r = correlate_keys(sections, key_templates(cfg.profile))
    mass = sections.sum(axis=1)
    w = (mass / mass.mean()) ** cfg.section_weight_power
    w = w / w.sum()
    votes = np.bincount(np.argmax(r, axis=1), weights=w, minlength=24)
    return cfg.vote_weight * votes + (1.0 - cfg.vote_weight) * (w @ r), votes


def learned_key_scores(sections: np.ndarray, model: KeyModel, vote_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Learned model (step 4'): ``(scores, votes)`` over the 24 keys, both summing to 1.

    ``scores = vote_weight * votes + (1 - vote_weight) * P(key | the track's whole chroma)``; each
    section votes, weighted by its chroma mass, for its own most probable key.
    """
    probs = key_probabilities(key_logits(sections.sum(axis=0), model))[0]
    mass = sections.sum(axis=1)
    votes = np.bincount(np.argmax(key_logits(sections, model), axis=1), weights=mass / mass.sum(), minlength=24)
    return vote_weight * votes + (1.0 - vote_weight) * probs, votes


def relative_key(index: int) -> int:
    """Index (0..11 major, 12..23 minor) of the relative minor/major of a key index."""
    return 12 + (index + 9) % 12 if index < 12 else (index - 12 + 3) % 12


def _margin(scores: np.ndarray) -> float:
    """How far the best score is above the runner-up (>= 0)."""
    top = np.sort(scores)[-2:]
    return max(float(top[1] - top[0]), 0.0)


def estimate_key(track_y: Sequence[np.ndarray], sr: int, cfg: KeyConfig) -> KeyResult:
    """Key of a track from the audio of its sampled windows (see the module docstring)."""
    return key_from_chroma(key_chroma(track_y, sr, cfg), cfg)


def key_from_chroma(chroma: KeyChroma, cfg: KeyConfig, model: KeyModel | None = None) -> KeyResult:
    """The key decision (step 4 or 4') on a track's section chroma; ``model`` overrides the
    configured learned model (the benchmark's cross-validation passes each fold's own)."""
    tuning_cents = None if chroma.tuning is None else round(100 * chroma.tuning, 1)
    if chroma.sections is None:
        clarity = None if chroma.tuning is None else 0.0  # a flat chroma is a measured "no key"
        return KeyResult(None, None, clarity, None, tuning_cents, reason=chroma.reason)
    model = model or learned_model(cfg.profile)
    if model is not None:
        scores, votes = learned_key_scores(chroma.sections, model, cfg.learned_vote_weight)
        log_p = np.log(np.maximum(scores, 1e-300))
        margin, scale = _margin(np.delete(log_p, relative_key(int(np.argmax(scores))))), cfg.learned_clarity_scale
    else:
        scores, votes = profile_key_scores(chroma.sections, cfg)
        margin, scale = _margin(scores), cfg.clarity_scale
    best = int(np.argmax(scores))
    clarity = 1.0 - np.exp(-margin / scale)
    return KeyResult(
        root=best % 12,
        mode="major" if best < 12 else "minor",
        clarity=round(float(clarity), 4),
        consensus=round(float(votes[best]), 4),
        tuning_cents=tuning_cents,
        scores=scores,
    )
