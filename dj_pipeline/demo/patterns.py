"""Step patterns -> timed events (onset in seconds, gain, and a note for pitched parts).

A pattern is a string with one character per 16th note; a pattern longer than 16 steps spans
several bars and cycles. Swing delays the off-steps; humanisation adds small velocity and timing
jitter drawn from the seed. The grid itself is exact, so the truth tempo is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dj_pipeline.config.demo import HumanizeConfig
from dj_pipeline.demo.harmony import Chord, note_in_register

STEPS_PER_BAR = 16
TIE = "-"
REST = "."


@dataclass(frozen=True)
class Events:
    """Onsets (s), gains and, for pitched parts, MIDI notes and lengths in 16th steps."""

    onset_s: np.ndarray
    gain: np.ndarray
    midi: np.ndarray | None = None
    steps: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.onset_s)


def check_pattern(pattern: str, allowed: str) -> str:
    """Validate a pattern: non-empty, a whole number of bars, only ``allowed`` characters."""
    if not pattern or len(pattern) % STEPS_PER_BAR:
        raise ValueError(f"pattern length must be a positive multiple of {STEPS_PER_BAR}: {pattern!r}")
    bad = set(pattern) - set(allowed)
    if bad:
        raise ValueError(f"pattern {pattern!r} has unexpected characters {sorted(bad)}")
    return pattern


def step_grid(pattern: str, n_bars: int) -> tuple[np.ndarray, np.ndarray]:
    """Global 16th-step indices of the pattern's hits over ``n_bars``, and their characters."""
    chars = np.array(list(pattern))
    steps = np.arange(n_bars * STEPS_PER_BAR)
    symbols = chars[steps % len(pattern)]
    hit = (symbols != REST) & (symbols != TIE)
    return steps[hit], symbols[hit]


def tie_lengths(pattern: str) -> np.ndarray:
    """For each position of a cyclic pattern, 1 + the number of ties that follow it."""
    n = len(pattern)
    out = np.ones(n, dtype=np.int64)
    for i in range(n):
        k = 1
        while k < n and pattern[(i + k) % n] == TIE:
            k += 1
        out[i] = k
    return out


def onset_times(steps: np.ndarray, step_s: float, swing: dict[str, float] | None) -> np.ndarray:
    """Exact grid times of 16th steps, with the swung off-steps delayed.

    ``swing = {"ratio": 0.6, "unit_steps": 1}`` delays every odd 16th so that it falls at 60% of
    its 8th-note pair (MPC swing); ``unit_steps: 2`` swings 8th notes instead.
    """
    times = steps * step_s
    if swing:
        unit = int(swing.get("unit_steps", 1))
        ratio = float(swing.get("ratio", 0.5))
        off = (steps // unit) % 2 == 1
        on_grid = steps % unit == 0
        times = times + np.where(off & on_grid, (ratio - 0.5) * 2.0 * unit * step_s, 0.0)
    return times


def humanize(times: np.ndarray, gains: np.ndarray, cfg: HumanizeConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Add clipped Gaussian timing jitter and relative velocity jitter; no onset goes below 0."""
    sd = cfg.timing_jitter_ms / 1000.0
    jitter = np.clip(rng.normal(0.0, sd, len(times)), -3 * sd, 3 * sd) if sd > 0 else 0.0
    vel = np.clip(1.0 + rng.normal(0.0, cfg.velocity_jitter, len(gains)), 0.5, 1.3)
    return np.maximum(times + jitter, 0.0), gains * vel


def drum_events(
    pattern: str,
    bar_gain: np.ndarray,
    step_s: float,
    cfg: HumanizeConfig,
    rng: np.random.Generator,
    swing: dict[str, float] | None = None,
) -> Events:
    """Events of a drum pattern; ``bar_gain`` (one value per bar) mutes or scales each bar."""
    check_pattern(pattern, "Xxg.")
    steps, symbols = step_grid(pattern, len(bar_gain))
    vel = np.array([cfg.velocities[s] for s in symbols], dtype=np.float64)
    gains = vel * bar_gain[steps // STEPS_PER_BAR]
    times, gains = humanize(onset_times(steps, step_s, swing), gains, cfg, rng)
    keep = gains > 0
    return Events(times[keep], gains[keep])


def bass_events(
    pattern: str,
    chords: list[Chord],
    key_root: int,
    low_midi: int,
    bar_gain: np.ndarray,
    step_s: float,
    cfg: HumanizeConfig,
    rng: np.random.Generator,
    swing: dict[str, float] | None = None,
) -> Events:
    """Bass line: R = chord root, O = root octave up, F = fifth, T = track tonic; ties lengthen."""
    check_pattern(pattern, "ROFT-.")
    steps, symbols = step_grid(pattern, len(bar_gain))
    lengths = tie_lengths(pattern)[steps % len(pattern)]
    roots = np.array([note_in_register(chords[b].root_pc, low_midi) for b in steps // STEPS_PER_BAR], dtype=np.int64)
    tonic = note_in_register(key_root, low_midi)
    offset = {"R": 0, "O": 12, "F": 7}
    midi = np.array([tonic if s == "T" else r + offset[s] for r, s in zip(roots, symbols)], dtype=np.int64)
    gains = bar_gain[steps // STEPS_PER_BAR].astype(np.float64)
    times, gains = humanize(onset_times(steps, step_s, swing), gains, cfg, rng)
    keep = gains > 0
    return Events(times[keep], gains[keep], midi[keep], lengths[keep])


def chord_events(
    pattern: str | None, chords: list[Chord], bar_gain: np.ndarray, step_s: float, cfg: HumanizeConfig, rng: np.random.Generator
) -> Events:
    """Chord hits (stabs, from ``pattern``) or, with ``pattern=None``, one pad per chord span.

    ``midi`` holds the index of the chord in ``chords`` (its bar), the renderer voices it.
    """
    if pattern is None:
        starts, spans = pad_spans(chords)
        steps = np.array(starts, dtype=np.int64) * STEPS_PER_BAR
        lengths = np.array(spans, dtype=np.int64) * STEPS_PER_BAR
    else:
        check_pattern(pattern, "x-.")
        steps, _ = step_grid(pattern, len(bar_gain))
        lengths = tie_lengths(pattern)[steps % len(pattern)]
    bars = steps // STEPS_PER_BAR
    gains = bar_gain[bars].astype(np.float64)
    times, gains = humanize(steps * step_s, gains, cfg, rng)
    keep = gains > 0
    return Events(times[keep], gains[keep], bars[keep], lengths[keep])


def pad_spans(chords: list[Chord]) -> tuple[list[int], list[int]]:
    """Start bar and length in bars of each held chord (a chord restarts after its own length)."""
    starts: list[int] = []
    spans: list[int] = []
    for b, chord in enumerate(chords):
        if starts and chord is chords[starts[-1]] and spans[-1] < chord.bars:
            spans[-1] += 1
        else:
            starts.append(b)
            spans.append(1)
    return starts, spans


def arp_degrees(n_hits_in_bar: np.ndarray) -> np.ndarray:
    """Chord-tone index of each arpeggio hit: root on every other hit, starting each bar (0 1 0 2 ...).

    Landing on the root keeps the tonic chord's root (the key's tonic) the most frequent lead note.
    """
    cycle = np.array([0, 1, 0, 2])
    return cycle[n_hits_in_bar % len(cycle)]


def lead_events(
    pattern: str, chords: list[Chord], low_midi: int, bar_gain: np.ndarray, step_s: float, cfg: HumanizeConfig, rng: np.random.Generator
) -> Events:
    """Arpeggio over the bar's chord in the lead register: root on each bar's first hit, then 0 1 2 1."""
    check_pattern(pattern, "Xxg.")
    steps, symbols = step_grid(pattern, len(bar_gain))
    bars = steps // STEPS_PER_BAR
    first = np.r_[0, np.flatnonzero(np.diff(bars)) + 1]
    index_in_bar = np.arange(len(steps)) - np.repeat(first, np.diff(np.r_[first, len(steps)])) if len(steps) else steps
    degrees = arp_degrees(index_in_bar)
    voicings = {id(c): voice_chord_root_first(c, low_midi) for c in chords}
    midi = np.array([voicings[id(chords[b])][d] for b, d in zip(bars, degrees)], dtype=np.int64)
    vel = np.array([cfg.velocities[s] for s in symbols], dtype=np.float64)
    times, gains = humanize(steps * step_s, vel * bar_gain[bars], cfg, rng)
    keep = gains > 0
    return Events(times[keep], gains[keep], midi[keep], np.full(int(keep.sum()), 2, dtype=np.int64))


def voice_chord_root_first(chord: Chord, low_midi: int) -> np.ndarray:
    """Root, third and fifth stacked upward from the root's note in the register at ``low_midi``."""
    root = note_in_register(chord.root_pc, low_midi)
    return np.array([root + i for i in chord.intervals], dtype=np.int64)
