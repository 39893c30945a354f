"""Mixing: place pre-rendered sounds on buses by sample index, sidechain, pan, master loudness."""

from __future__ import annotations

import numpy as np
from scipy import signal

from dj_pipeline.config.demo import MixConfig


def place(bus: np.ndarray, sound: np.ndarray, onset_s: np.ndarray, gain: np.ndarray, sr: int) -> None:
    """Add ``gain[i] * sound`` at every onset (in place); sounds running past the end are cut.

    One vectorised slice-add per event (a track has a few thousand), never a per-sample loop.
    """
    starts = np.round(np.asarray(onset_s) * sr).astype(np.int64)
    n = len(bus)
    for start, g in zip(starts, np.asarray(gain, dtype=np.float32)):
        if 0 <= start < n:
            end = min(n, start + len(sound))
            bus[start:end] += g * sound[: end - start]


def sidechain_envelope(kick_onset_s: np.ndarray, kick_gain: np.ndarray, n: int, sr: int, depth: float, release_s: float) -> np.ndarray:
    """Gain curve that ducks by ``depth`` at each kick and recovers exponentially ("pumping").

    Built as a one-pole filter over an impulse train, so it costs one linear pass.
    """
    if depth <= 0 or len(kick_onset_s) == 0:
        return np.ones(n, dtype=np.float32)
    impulses = np.zeros(n, dtype=np.float64)
    idx = np.round(np.asarray(kick_onset_s) * sr).astype(np.int64)
    ok = (idx >= 0) & (idx < n)
    np.add.at(impulses, idx[ok], np.minimum(np.asarray(kick_gain)[ok], 1.0))
    pole = np.exp(-1.0 / (release_s * sr / 4.6))  # falls to 1% after release_s
    duck = signal.lfilter([1.0], [1.0, -pole], impulses)
    return (1.0 - depth * np.minimum(duck, 1.0)).astype(np.float32)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law: -1 = left, 0 = centre (both sqrt(1/2)), +1 = right."""
    angle = (np.clip(pan, -1.0, 1.0) + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def mixdown(buses: dict[str, np.ndarray], cfg: MixConfig, sr: int, stereo: bool, wide: tuple[str, ...] = ("chords",)) -> np.ndarray:
    """Sum the buses to mono ``(n,)`` or stereo ``(2, n)`` with each bus's configured pan.

    ``wide`` buses get a short Haas delay on the right channel (width without phase issues in mono).
    """
    n = len(next(iter(buses.values())))
    if not stereo:
        return np.sum(list(buses.values()), axis=0, dtype=np.float32)
    out = np.zeros((2, n), dtype=np.float32)
    delay = int(cfg.haas_ms * sr / 1000.0)
    for name, bus in buses.items():
        left, right = pan_gains(cfg.pan.get(name, 0.0))
        out[0] += left * bus
        if name in wide and delay > 0:
            out[1, delay:] += right * bus[:-delay]
        else:
            out[1] += right * bus
    return out


def master(y: np.ndarray, energy: float, cfg: MixConfig) -> np.ndarray:
    """Scale to the energy's target RMS, then soft-limit (tanh) below the ceiling; float32 out.

    Louder (higher-energy) tracks are pushed harder into the limiter, as in real masters.
    """
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) if y.size else 0.0
    if rms <= 0:
        return y.astype(np.float32)
    lo, hi = cfg.target_rms_db
    target = 10.0 ** ((lo + (hi - lo) * float(np.clip(energy, 0.0, 1.0))) / 20.0)
    scaled = y * (target / rms)
    return (cfg.ceiling * np.tanh(scaled / cfg.ceiling)).astype(np.float32)
