"""A whole-track envelope pass, streamed in blocks: onset strength, RMS, low band and a novelty curve.

This is the only full-length read of a track in the windows stage; memory is bounded by the block
size (``EnvelopeConfig.block_s``), so a 2-hour mix costs the same RAM as a 3-minute single.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import librosa
import numpy as np

from dj_pipeline.audio import iter_blocks
from dj_pipeline.audio.decode_cache import memoized
from dj_pipeline.audio.stft import mel_basis, stft
from dj_pipeline.config.windows import EnvelopeConfig

_EPS = 1e-10
ONSET_N_FFT = 2048  # librosa's onset_strength default; shortened for a short last block
ENVELOPE_N_MELS = 128  # librosa's melspectrogram default


@dataclass(frozen=True)
class TrackEnvelope:
    """Frame-level curves of one track at ``fps`` frames per second."""

    onset: np.ndarray  # onset strength (librosa spectral flux), >= 0
    rms_db: np.ndarray  # frame RMS in dBFS
    fps: float
    duration_s: float
    low_db: np.ndarray | None = None  # level below ``low_band_max_hz`` (kick/bass), dB, same frames
    onset_delay_s: float = 0.0  # the onset curve peaks this long after the event (a quarter of the FFT window)

    def times_s(self) -> np.ndarray:
        return np.arange(self.onset.size) / self.fps


def compute_envelope(path: str | os.PathLike, config: EnvelopeConfig) -> TrackEnvelope:
    """Stream ``path`` at ``config.sr`` and return its onset/RMS/low-band curves.

    Inside an ingest the curves are computed once per file (the windows and the structure
    stage both need them): :func:`~dj_pipeline.audio.decode_cache.memoized`.
    """
    curves = memoized(path, f"envelope:{config!r}", lambda: _envelope_curves(path, config))
    return TrackEnvelope(
        curves["onset"], curves["rms_db"], config.sr / config.hop_length, float(curves["duration_s"]), curves["low_db"],
        ONSET_N_FFT / (4.0 * config.sr),  # measured: GTZAN downbeats, bench/structure_accuracy.py
    )  # fmt: skip


def _envelope_curves(path: str | os.PathLike, config: EnvelopeConfig) -> dict[str, np.ndarray]:
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    total_s = 0.0
    for _, block in iter_blocks(path, sr=config.sr, block_s=config.block_s):
        curves.append(block_curves(block, config.sr, config.hop_length, config.low_band_max_hz))
        total_s += block.size / config.sr
    empty = np.zeros(0, np.float32)
    onset, rms_db, low_db = (np.concatenate(c) for c in zip(*curves)) if curves else (empty, empty, empty)
    return {"onset": onset, "rms_db": rms_db, "low_db": low_db, "duration_s": np.float64(total_s)}


def envelope_of_block(y: np.ndarray, sr: int, hop_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset strength and RMS (dBFS) of one mono block, one value per hop, same length."""
    onset, rms_db, _ = block_curves(y, sr, hop_length, EnvelopeConfig().low_band_max_hz)
    return onset, rms_db


def block_curves(y: np.ndarray, sr: int, hop_length: int, low_max_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Onset strength, RMS (dBFS) and low-band level (dB, mel bands below ``low_max_hz``) of one block.

    One mel spectrogram serves the onset strength (exactly librosa's ``onset_strength(y=...)``) and
    the low band, so the kick/bass curve the structure layer needs costs no second transform.
    """
    n_frames = 1 + y.size // hop_length
    if y.size < 2 * hop_length:
        return np.zeros(n_frames, np.float32), np.full(n_frames, -120.0, np.float32), np.full(n_frames, -120.0, np.float32)
    n_fft = min(ONSET_N_FFT, 1 << (y.size.bit_length() - 1))  # a power of two that fits the block
    spec = stft(y, n_fft, hop_length)
    mel = mel_basis(sr, n_fft, ENVELOPE_N_MELS, 0.0)[0] @ (spec.real**2 + spec.imag**2)  # librosa's melspectrogram defaults
    onset = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=sr, hop_length=hop_length, n_fft=n_fft)
    low_bins = librosa.mel_frequencies(n_mels=mel.shape[0] + 2, fmax=sr / 2.0)[1:-1] <= low_max_hz
    low = mel[low_bins].sum(axis=0) if low_bins.any() else mel[:1].sum(axis=0)
    rms = librosa.feature.rms(y=y, frame_length=2 * hop_length, hop_length=hop_length)[0]
    n = min(onset.size, rms.size, low.size, n_frames)
    rms_db = 20.0 * np.log10(np.maximum(rms[:n], _EPS))
    low_db = 10.0 * np.log10(np.maximum(low[:n] / n_fft, _EPS))
    return onset[:n].astype(np.float32), rms_db.astype(np.float32), low_db.astype(np.float32)


def section_novelty(env: TrackEnvelope, half_width_s: float, level_scale_db: float = 6.0) -> tuple[np.ndarray, float]:
    """Section-change novelty per second: how different the next ``half_width_s`` are from the last.

    Per-second loudness (in units of ``level_scale_db``) and onset activity (relative to the track's
    mean) are compared across a sliding boundary, like a checkerboard kernel on a self-similarity
    matrix but O(n). Fixed scales, not z-scores, so a steady track's noise does not look like
    structure. Returns the curve (one value per second, >= 0) and its rate (1.0 per second).
    """
    per_s = max(1, int(round(env.fps)))
    n_sec = env.onset.size // per_s
    w = max(1, int(round(half_width_s)))
    if n_sec < 2 * w + 1:
        return np.zeros(max(n_sec, 0), np.float32), 1.0
    level = env.rms_db[: n_sec * per_s].reshape(n_sec, per_s).mean(axis=1) / level_scale_db
    activity = env.onset[: n_sec * per_s].reshape(n_sec, per_s).mean(axis=1)
    activity = activity / (float(activity.mean()) + _EPS)
    feats = np.stack([level, activity])
    csum = np.concatenate([np.zeros((2, 1)), np.cumsum(feats, axis=1)], axis=1)
    novelty = np.zeros(n_sec, np.float32)
    t = np.arange(w, n_sec - w + 1)
    before = (csum[:, t] - csum[:, t - w]) / w
    after = (csum[:, t + w] - csum[:, t]) / w
    novelty[t[t < n_sec]] = np.abs(after - before).sum(axis=0)[t < n_sec]
    return novelty, 1.0
