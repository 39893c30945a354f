"""Synthetic signals with known tempo and key, for tests and benchmarks of the analysis.

``drum_track`` builds a beat (kick, snare, hats) in one of a few DJ styles; ``chord_track`` a chord
progression and bass line in a given key; ``synth_track`` mixes both. Everything is plain numpy
and seeded, so a test knows the truth exactly (BPM, key) and the signal is the same on every run.
"""

from __future__ import annotations

import numpy as np

# Per style: beats per bar are 4; each pattern lists (instrument, position in beats within the bar).
STYLES: dict[str, list[tuple[str, float]]] = {
    "four_on_floor": [("kick", b) for b in range(4)] + [("hat", b + 0.5) for b in range(4)] + [("snare", 1), ("snare", 3)],
    "two_step": [("kick", 0), ("kick", 2.5), ("snare", 1), ("snare", 3)] + [("hat", b / 2) for b in range(8)],
    "half_time": [("kick", 0), ("kick", 1.75), ("snare", 2)] + [("hat", b / 2) for b in range(8)],
    "boom_bap": [("kick", 0), ("kick", 1.5), ("kick", 2.75), ("snare", 1), ("snare", 3)] + [("hat", b / 2) for b in range(8)],
    # a blues shuffle: hats on the swung eighths (the first and third triplet of each beat)
    "shuffle": [("kick", 0), ("kick", 2), ("snare", 1), ("snare", 3)] + [("hat", b + t) for b in range(4) for t in (0.0, 2 / 3)],
}
_MAJOR_PROGRESSION = ((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj"))  # I IV V I
_MINOR_PROGRESSION = ((0, "min"), (8, "maj"), (10, "maj"), (0, "min"))  # i VI VII i


def _kick(sr: int) -> np.ndarray:
    t = np.arange(int(0.25 * sr)) / sr
    freq = 50.0 + 100.0 * np.exp(-t * 30.0)
    return np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t * 12.0)


def _noise_hit(sr: int, rng: np.random.Generator, length_s: float, decay: float, highpass: bool) -> np.ndarray:
    n = int(length_s * sr)
    x = rng.standard_normal(n)
    if highpass:
        x = np.diff(x, prepend=0.0)
    return x * np.exp(-np.arange(n) / sr * decay)


def drum_track(bpm: float, duration_s: float, sr: int, style: str = "four_on_floor", seed: int = 0) -> np.ndarray:
    """A drum loop at ``bpm`` (one bar repeated) in ``style`` (see :data:`STYLES`)."""
    rng = np.random.default_rng(seed)
    sounds = {
        "kick": 0.9 * _kick(sr),
        "snare": 0.35 * _noise_hit(sr, rng, 0.2, 25.0, False),
        "hat": 0.12 * _noise_hit(sr, rng, 0.05, 80.0, True),
    }
    n = int(duration_s * sr)
    out = np.zeros(n + sr)
    beat_s = 60.0 / bpm
    n_bars = int(np.ceil(duration_s / (4 * beat_s)))
    for bar in range(n_bars):
        for inst, pos in STYLES[style]:
            start = int(round((bar * 4 + pos) * beat_s * sr))
            if start >= n:
                continue
            s = sounds[inst]
            out[start : start + s.size] += s[: out.size - start]
    return out[:n]


def _tone(freq: float, n: int, sr: int, harmonics: int = 4) -> np.ndarray:
    t = np.arange(n) / sr
    return sum(np.sin(2 * np.pi * freq * h * t) / h for h in range(1, harmonics + 1))


def chord_track(root: int, mode: str, bpm: float, duration_s: float, sr: int, tuning_cents: float = 0.0) -> np.ndarray:
    """A pad + bass progression in the key ``(root, mode)``, one chord per bar at ``bpm``."""
    progression = _MAJOR_PROGRESSION if mode == "major" else _MINOR_PROGRESSION
    n = int(duration_s * sr)
    out = np.zeros(n)
    bar_n = int(round(4 * 60.0 / bpm * sr))
    detune = 2.0 ** (tuning_cents / 1200.0)
    fade = np.minimum(1.0, np.minimum(np.arange(bar_n), bar_n - np.arange(bar_n)) / (0.01 * sr))
    for i, start in enumerate(range(0, n, bar_n)):
        offset, quality = progression[i % len(progression)]
        chord_root = 48 + (root + offset) % 12  # MIDI, octave 3
        third = 4 if quality == "maj" else 3
        seg = min(bar_n, n - start)
        pad = sum(_tone(440.0 * 2 ** ((chord_root + 12 + iv - 69) / 12) * detune, seg, sr) for iv in (0, third, 7))
        bass = _tone(440.0 * 2 ** ((chord_root - 12 - 69) / 12) * detune, seg, sr, harmonics=2)
        out[start : start + seg] = (0.08 * pad + 0.25 * bass) * fade[:seg]
    return out


def synth_track(
    bpm: float, root: int, mode: str, duration_s: float, sr: int, style: str = "four_on_floor", seed: int = 0, tuning_cents: float = 0.0
) -> np.ndarray:
    """Drums + chords, float32, peak-normalised to -1 dBFS."""
    y = drum_track(bpm, duration_s, sr, style, seed) + chord_track(root, mode, bpm, duration_s, sr, tuning_cents)
    return (y / (np.max(np.abs(y)) + 1e-12) * 10 ** (-1 / 20)).astype(np.float32)


def sung_line(duration_s: float, sr: int, seed: int = 0) -> np.ndarray:
    """A voice-like line: notes every 0.4 s with vibrato, vowel formants changing every syllable."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(duration_s * sr)
    t = np.arange(n) / sr
    note_n = int(0.4 * sr)
    notes = 220.0 * 2 ** (rng.integers(0, 8, size=n // note_n + 1) / 12)
    f0 = np.repeat(notes, note_n)[:n] * (1 + 0.015 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    source = sum(np.sin(h * phase) / h for h in range(1, 15))
    out = np.zeros(n)
    syllable = int(0.25 * sr)
    vowels = ((700.0, 1200.0), (300.0, 2300.0), (500.0, 900.0), (400.0, 2000.0))
    for i, start in enumerate(range(0, n, syllable)):
        x = source[start : start + syllable]
        y = np.zeros_like(x)
        for f in vowels[i % len(vowels)]:
            r, theta = 0.97, 2 * np.pi * f / sr
            y += lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)
        out[start : start + syllable] = y * np.hanning(x.size)
    return (out / (np.max(np.abs(out)) + 1e-12)).astype(np.float32)
