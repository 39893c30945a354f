"""One-shot pre-processing: decode, mono, resample, trim silence, peak-normalise, cap the length.

The rule features are computed at ``rule_sr`` (16 kHz) and CLAP wants ``clap_sr`` (48 kHz); the file
is decoded once at its native rate and resampled to each. Files that are silent or far longer than a
one-shot (a loop dropped in the sample folder) are not errors: they come back with a ``status`` and
a readable ``reason`` so the assigner can mark them TEXTURE/low-confidence and keep them out of pools.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from dj_pipeline.audio.io import AudioDecodeError, load_audio, probe, resample
from dj_pipeline.config.roles import PreprocessConfig

STATUS_OK = "ok"
STATUS_SILENT = "silent"
STATUS_LONG = "long"


@dataclass(frozen=True)
class OneShot:
    """A pre-processed one-shot: ``y`` mono float32 at ``sr``, trimmed, peak 1.0, at most max_duration_s."""

    y: np.ndarray
    sr: int
    source_duration_s: float
    peak_dbfs: float
    active_s: float = 0.0
    status: str = STATUS_OK
    reason: str | None = None


def preprocess_oneshot(y: np.ndarray, sr: int, config: PreprocessConfig, target_sr: int | None = None,
                       source_duration_s: float | None = None) -> OneShot:
    """Mono -> resample to ``target_sr`` (``config.rule_sr`` by default) -> trim -> normalise -> cap.

    ``source_duration_s`` is the file's full length (a loop is read only partly); it decides the
    ``long`` status. Silence (peak below ``silence_dbfs``) gives ``status="silent"`` and zeros.
    """
    target_sr = int(target_sr or config.rule_sr)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim > 1:
        y = y.mean(axis=0).astype(np.float32)
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    duration_s = float(source_duration_s if source_duration_s is not None else y.size / max(sr, 1))
    if sr != target_sr and y.size:
        y = resample(y, sr, target_sr)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    peak_dbfs = 20.0 * np.log10(peak) if peak > 0 else -np.inf
    n_max = int(round(config.max_duration_s * target_sr))
    if peak_dbfs < config.silence_dbfs:
        reason = "silent: peak below %.0f dBFS" % config.silence_dbfs
        return OneShot(np.zeros(min(max(y.size, 1), n_max), np.float32), target_sr, duration_s, float(max(peak_dbfs, -200.0)),
                       0.0, STATUS_SILENT, reason)
    y = trim_silence(y / peak, target_sr, config.trim_top_db, config.trim_frame_s)
    active_s = active_duration_s(y, target_sr, config.active_db, config.trim_frame_s)
    y = y[:n_max].astype(np.float32)
    y = y / max(float(np.max(np.abs(y))), 1e-12)
    status, reason = STATUS_OK, None
    if duration_s > config.max_oneshot_duration_s:
        status = STATUS_LONG
        reason = f"long file ({duration_s:.1f} s > {config.max_oneshot_duration_s:g} s): probably a loop, not a one-shot"
    return OneShot(y.astype(np.float32), target_sr, duration_s, float(peak_dbfs), active_s, status, reason)


def _peak_envelope(y: np.ndarray, sr: int, frame_s: float) -> tuple[np.ndarray, int]:
    frame = max(1, int(round(frame_s * sr)))
    n_frames = max(1, int(np.ceil(y.size / frame)))
    padded = np.zeros(n_frames * frame, dtype=np.float32)
    padded[: y.size] = np.abs(y)
    return padded.reshape(n_frames, frame).max(axis=1), frame


def active_duration_s(y: np.ndarray, sr: int, active_db: float, frame_s: float) -> float:
    """Span from the first to the last frame within ``active_db`` of the peak (the audible length).

    Measured on the whole decoded read, before the analysis cap, so a 6 s drone and a 0.3 s snare
    differ even though both are analysed on at most ``max_duration_s``.
    """
    env, frame = _peak_envelope(y, sr, frame_s)
    loud = np.flatnonzero(env >= float(np.max(env)) * 10.0 ** (-active_db / 20.0))
    return 0.0 if loud.size == 0 else float((loud[-1] + 1 - loud[0]) * frame / sr)


def trim_silence(y: np.ndarray, sr: int, top_db: float, frame_s: float) -> np.ndarray:
    """Cut leading/trailing frames quieter than ``top_db`` below the peak (peak-based, not RMS).

    A peak envelope keeps the first few milliseconds of a click or a hi-hat, which an RMS-based trim
    with long frames would shave off.
    """
    env, frame = _peak_envelope(y, sr, frame_s)
    loud = np.flatnonzero(env >= float(np.max(env)) * 10.0 ** (-top_db / 20.0))
    if loud.size == 0:
        return y
    return y[loud[0] * frame: min(y.size, (loud[-1] + 1) * frame)]


def load_oneshot(path: str | os.PathLike, config: PreprocessConfig, with_clap: bool = False) -> tuple[OneShot, OneShot | None]:
    """Decode the start of ``path`` once and pre-process it for the rules (and for CLAP when asked).

    Raises :class:`AudioDecodeError` (empty, corrupt, unreadable) with a one-line reason.
    """
    info = probe(path)
    y, native_sr = load_audio(path, sr=None, mono=True, duration_s=min(info.duration_s, config.read_duration_s))
    if y.size == 0:
        raise AudioDecodeError("no audio frames could be decoded")
    rule = preprocess_oneshot(y, native_sr, config, config.rule_sr, info.duration_s)
    clap = preprocess_oneshot(y, native_sr, config, config.clap_sr, info.duration_s) if with_clap else None
    return rule, clap
