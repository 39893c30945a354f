"""Instrument recipes: drum one-shots, textures and pitched notes, rendered once and placed by index.

Each drum function takes ``(sr, rng)`` and draws its own small variations (pitch, decay, noise
colour) from ``rng``, so one seed gives one kit and another seed a different but same-class kit.
Keyword defaults are the sound-design recipe (what makes a kick a kick), not tunables of the demo.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dj_pipeline.demo.synth import (
    attack_release,
    band_noise,
    exp_decay,
    fade_edges,
    harmonic_tone,
    highpass,
    n_samples,
    normalize_peak,
    swept_sine,
)


def kick(sr: int, rng: np.random.Generator, tune_hz: float | None = None) -> np.ndarray:
    """Pitch-swept sine body (150-250 Hz down to ``tune_hz``) with a short noise click."""
    f_end = tune_hz if tune_hz is not None else rng.uniform(45.0, 62.0)
    decay = rng.uniform(0.28, 0.5)
    n = n_samples(decay * 1.1, sr)
    body = swept_sine(n, sr, rng.uniform(150.0, 250.0), f_end, rng.uniform(0.025, 0.045)) * exp_decay(n, sr, decay)
    click = band_noise(n, sr, rng, 1500.0, 7000.0) * exp_decay(n, sr, 0.012) * rng.uniform(0.15, 0.35)
    return normalize_peak(fade_edges(np.tanh(1.4 * (body + click)), sr))


def snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Two detuned tone partials (~180/330 Hz) plus band-passed noise rattle."""
    decay = rng.uniform(0.16, 0.28)
    n = n_samples(decay * 1.2, sr)
    f0 = rng.uniform(170.0, 210.0)
    tone = harmonic_tone(f0, n, sr, (1.0,)) + 0.6 * harmonic_tone(f0 * 1.78, n, sr, (1.0,))
    tone *= exp_decay(n, sr, 0.12)
    # a real snare's energy sits in the drum body (150-400 Hz) and a 1-6 kHz wire rattle
    noise = band_noise(n, sr, rng, 1000.0, rng.uniform(5000.0, 7000.0)) * exp_decay(n, sr, decay)
    return normalize_peak(fade_edges(tone + 0.45 * noise, sr))


def clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Three or four quick noise bursts (hands not quite together) and a short reverberant tail."""
    n = n_samples(rng.uniform(0.25, 0.35), sr)
    src = band_noise(n, sr, rng, 700.0, 3500.0)
    env = np.zeros(n)
    for k in range(int(rng.integers(3, 5))):
        start = int((k * rng.uniform(0.008, 0.012)) * sr)
        env[start:] += exp_decay(n - start, sr, 0.03 if k < 3 else rng.uniform(0.15, 0.25))
    return normalize_peak(fade_edges(src * env, sr))


def hihat(sr: int, rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    """High-passed noise with metallic square partials; closed ~50 ms, open ~300-500 ms."""
    decay = rng.uniform(0.3, 0.5) if open_ else rng.uniform(0.035, 0.07)
    n = n_samples(decay * 1.1, sr)
    cutoff = rng.uniform(6000.0, 8000.0)
    noise = band_noise(n, sr, rng, cutoff, None, order=4)
    t = np.arange(n) / sr
    squares = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in rng.uniform(300.0, 800.0, 4))
    metal = highpass(squares, sr, cutoff)
    mix = noise + 0.15 * metal
    return normalize_peak(fade_edges(mix * exp_decay(n, sr, decay), sr))


def cymbal(sr: int, rng: np.random.Generator, kind: str = "crash") -> np.ndarray:
    """Crash (bright, 1.5-2.5 s wash) or ride (pinged bell tone over a quieter wash)."""
    decay = rng.uniform(1.5, 2.5) if kind == "crash" else rng.uniform(0.9, 1.4)
    n = n_samples(decay, sr)
    wash = band_noise(n, sr, rng, rng.uniform(3000.0, 5000.0), None, order=2) * exp_decay(n, sr, decay)
    out = wash
    if kind == "ride":
        bell = harmonic_tone(rng.uniform(2800.0, 3600.0), n, sr, (1.0, 0.0, 0.4)) * exp_decay(n, sr, 0.6)
        out = 0.5 * wash + 0.5 * bell
    attack = attack_release(n, sr, 0.002, 0.05)
    return normalize_peak(out * attack)


def tom(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Gently swept sine (80-220 Hz) with a little noise: a pitched drum fill hit."""
    f = rng.uniform(80.0, 220.0)
    decay = rng.uniform(0.3, 0.6)
    n = n_samples(decay, sr)
    body = swept_sine(n, sr, f * 1.6, f, 0.03) * exp_decay(n, sr, decay)
    skin = band_noise(n, sr, rng, 300.0, 3000.0) * exp_decay(n, sr, 0.04) * 0.2
    return normalize_peak(fade_edges(body + skin, sr))


def shaker(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Soft-attack band-passed noise grain (~80-120 ms)."""
    n = n_samples(rng.uniform(0.08, 0.12), sr)
    env = np.sin(np.linspace(0.0, np.pi, n)) ** rng.uniform(1.5, 3.0)
    return normalize_peak(band_noise(n, sr, rng, 4000.0, 11000.0) * env)


def conga(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Short bright membrane tone (250-450 Hz) with a slap transient."""
    f = rng.uniform(250.0, 450.0)
    n = n_samples(0.25, sr)
    body = swept_sine(n, sr, f * 1.15, f, 0.01) * exp_decay(n, sr, rng.uniform(0.12, 0.22))
    slap = band_noise(n, sr, rng, 1000.0, 5000.0) * exp_decay(n, sr, 0.01) * 0.3
    return normalize_peak(fade_edges(body + slap, sr))


def riser(sr: int, rng: np.random.Generator, duration_s: float | None = None) -> np.ndarray:
    """Noise whose band and level rise over the duration (a build-up into a drop)."""
    dur = duration_s if duration_s is not None else rng.uniform(2.0, 4.0)
    n = n_samples(dur, sr)
    t = np.linspace(0.0, 1.0, n)
    low = band_noise(n, sr, rng, 300.0, 2000.0)
    high = band_noise(n, sr, rng, 3000.0, 10000.0)
    out = (low * (1.0 - t) + high * t) * t**2
    return normalize_peak(fade_edges(out, sr, 0.02))


def sweep(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Falling noise sweep (a down-lifter): high band fading to a low rumble."""
    return riser(sr, rng)[::-1].copy()


def drone(sr: int, rng: np.random.Generator, root_hz: float | None = None) -> np.ndarray:
    """Slowly swelling detuned harmonic drone (a texture, not a hit)."""
    f = root_hz if root_hz is not None else rng.uniform(55.0, 110.0)
    n = n_samples(rng.uniform(2.5, 4.0), sr)
    tone = harmonic_tone(f, n, sr, (1.0, 0.5, 0.3, 0.2), detune_cents=12.0)
    swell = np.sin(np.linspace(0.0, np.pi, n)) ** 1.5
    return normalize_peak(tone * swell)


def noise_texture(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Crackly vinyl-like noise bed with random amplitude flutter."""
    n = n_samples(rng.uniform(2.0, 3.0), sr)
    bed = band_noise(n, sr, rng, 500.0, 6000.0) * 0.3
    crackle = (rng.random(n) > 0.999) * rng.standard_normal(n) * 3.0
    flutter = 0.7 + 0.3 * np.sin(2 * np.pi * rng.uniform(0.5, 3.0) * np.arange(n) / sr)
    return normalize_peak(fade_edges((bed + crackle) * flutter, sr, 0.05))


ONESHOT_RECIPES: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "kick": kick,
    "snare": snare,
    "clap": clap,
    "hihat_closed": hihat,
    "hihat_open": lambda sr, rng: hihat(sr, rng, open_=True),
    "crash": cymbal,
    "ride": lambda sr, rng: cymbal(sr, rng, kind="ride"),
    "tom": tom,
    "shaker": shaker,
    "conga": conga,
    "riser": riser,
    "sweep": sweep,
    "drone": drone,
    "noise_texture": noise_texture,
}


# --- pitched notes --------------------------------------------------------------------------------

def bass_note(freq_hz: float, duration_s: float, sr: int, brightness: float = 0.5) -> np.ndarray:
    """Sub-heavy bass note: sine fundamental plus a few soft harmonics, short attack and release."""
    n = n_samples(duration_s, sr)
    tone = harmonic_tone(freq_hz, n, sr, (1.0, 0.35 * brightness, 0.18 * brightness, 0.08 * brightness))
    env = attack_release(n, sr, 0.004, min(0.03, duration_s / 3)) * (0.75 + 0.25 * exp_decay(n, sr, duration_s * 2))
    return (tone * env).astype(np.float32)


def chord_tone(freqs_hz: np.ndarray, duration_s: float, sr: int, pad: bool) -> np.ndarray:
    """A chord: a soft, detuned pad (slow attack) or a plucked stab (fast decay)."""
    n = n_samples(duration_s, sr)
    harmonics = (1.0, 0.35, 0.15) if pad else (1.0, 0.5, 0.25, 0.12)
    tone = sum(harmonic_tone(float(f), n, sr, harmonics, detune_cents=9.0 if pad else 4.0) for f in freqs_hz)
    if pad:
        env = attack_release(n, sr, min(0.3, duration_s / 4), min(0.4, duration_s / 4))
    else:
        env = attack_release(n, sr, 0.003, min(0.05, duration_s / 3)) * exp_decay(n, sr, max(0.25, duration_s * 1.5))
    return (tone * env / max(len(freqs_hz), 1)).astype(np.float32)


def pluck(freq_hz: float, duration_s: float, sr: int) -> np.ndarray:
    """Bright plucked lead note with a fast exponential decay (arpeggios, hooks)."""
    n = n_samples(duration_s, sr)
    tone = harmonic_tone(freq_hz, n, sr, (1.0, 0.5, 0.3, 0.15, 0.08))
    env = attack_release(n, sr, 0.002, min(0.02, duration_s / 3)) * exp_decay(n, sr, max(0.2, duration_s * 2))
    return (tone * env).astype(np.float32)
