"""Vectorised synthesis primitives: envelopes, swept oscillators, harmonic tones, filtered noise.

Everything returns float32 numpy arrays at the requested sample rate ``sr``; no per-sample Python
loops (phase is an integral, computed with ``cumsum``).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

A4_HZ = 440.0
A4_MIDI = 69


def midi_to_hz(midi: float | np.ndarray) -> float | np.ndarray:
    """Equal-tempered frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return A4_HZ * 2.0 ** ((np.asarray(midi, dtype=np.float64) - A4_MIDI) / 12.0)


def n_samples(duration_s: float, sr: int) -> int:
    """Number of samples covering ``duration_s`` (at least one)."""
    return max(1, int(round(duration_s * sr)))


def time_axis(n: int, sr: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / sr


def exp_decay(n: int, sr: int, decay_s: float) -> np.ndarray:
    """Exponential decay that falls by 60 dB over ``decay_s`` (a T60 envelope)."""
    return np.exp(-6.907755 * time_axis(n, sr) / max(decay_s, 1e-4))


def attack_release(n: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    """Linear attack, flat sustain, linear release over ``n`` samples (no clicks at either end)."""
    env = np.ones(n, dtype=np.float64)
    a = min(n, max(1, int(attack_s * sr)))
    r = min(n - a, max(1, int(release_s * sr))) if n > a else 0
    env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    if r > 0:
        env[n - r :] *= np.linspace(1.0, 0.0, r)
    return env


def swept_sine(n: int, sr: int, f_start_hz: float, f_end_hz: float, sweep_s: float, phase: float = 0.0) -> np.ndarray:
    """Sine whose pitch glides exponentially from ``f_start_hz`` to ``f_end_hz`` in ~``sweep_s``."""
    t = time_axis(n, sr)
    freq = f_end_hz + (f_start_hz - f_end_hz) * np.exp(-t / max(sweep_s, 1e-4))
    return np.sin(phase + 2.0 * np.pi * np.cumsum(freq) / sr)


def harmonic_tone(
    freq_hz: float, n: int, sr: int, harmonics: tuple[float, ...] = (1.0,), detune_cents: float = 0.0, phase: float = 0.0
) -> np.ndarray:
    """Sum of harmonics ``k * freq`` with amplitudes ``harmonics[k-1]``; partials above Nyquist are dropped.

    ``detune_cents`` adds a second, slightly detuned copy (chorus), which thickens pads and basses.
    """
    t = time_axis(n, sr)
    out = np.zeros(n, dtype=np.float64)
    copies = (0.0,) if detune_cents == 0 else (-detune_cents / 2.0, detune_cents / 2.0)
    for cents in copies:
        f0 = freq_hz * 2.0 ** (cents / 1200.0)
        for k, amp in enumerate(harmonics, start=1):
            if amp and k * f0 < 0.45 * sr:
                out += amp * np.sin(phase * k + 2.0 * np.pi * k * f0 * t)
    return out / len(copies)


def band_noise(n: int, sr: int, rng: np.random.Generator, low_hz: float | None, high_hz: float | None, order: int = 2) -> np.ndarray:
    """White noise through a Butterworth high/low/band-pass (``None`` leaves that side open)."""
    x = rng.standard_normal(n)
    nyq = 0.5 * sr
    lo = None if low_hz is None else min(low_hz, 0.45 * sr) / nyq
    hi = None if high_hz is None or high_hz >= 0.45 * sr else high_hz / nyq
    if lo is not None and hi is not None and lo < hi:
        sos = signal.butter(order, [lo, hi], btype="bandpass", output="sos")
    elif lo is not None:
        sos = signal.butter(order, lo, btype="highpass", output="sos")
    elif hi is not None:
        sos = signal.butter(order, hi, btype="lowpass", output="sos")
    else:
        return x
    return signal.sosfilt(sos, x)


def lowpass(x: np.ndarray, sr: int, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Butterworth low-pass (used to darken saw-like tones)."""
    if cutoff_hz >= 0.45 * sr:
        return x
    sos = signal.butter(order, cutoff_hz / (0.5 * sr), btype="lowpass", output="sos")
    return signal.sosfilt(sos, x)


def highpass(x: np.ndarray, sr: int, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Butterworth high-pass (used to keep metallic partials in the hi-hat band)."""
    sos = signal.butter(order, min(cutoff_hz, 0.45 * sr) / (0.5 * sr), btype="highpass", output="sos")
    return signal.sosfilt(sos, x)


def normalize_peak(x: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """Scale to the given peak (silence stays silence) and return float32."""
    m = float(np.max(np.abs(x))) if x.size else 0.0
    return (x * (peak / m) if m > 0 else x).astype(np.float32)


def fade_edges(x: np.ndarray, sr: int, fade_s: float = 0.003) -> np.ndarray:
    """Short linear fades at both ends so a one-shot never starts or stops with a click."""
    k = min(len(x) // 2, max(1, int(fade_s * sr)))
    ramp = np.linspace(0.0, 1.0, k)
    x = x.copy()
    x[:k] *= ramp
    x[len(x) - k :] *= ramp[::-1]
    return x
