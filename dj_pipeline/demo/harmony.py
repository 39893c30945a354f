"""Harmony: scales, roman-numeral progressions and chord voicings for a key (root pitch class, mode).

A progression is written like ``"i:2 VI:1 VII:1"``: roman numeral (case = triad quality) and a
length in bars. Degrees follow the key's scale, so ``V`` in a minor key is the harmonic-minor
dominant (raised leading tone), a strong minor cue for key estimators.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}
_NUMERALS = ("i", "ii", "iii", "iv", "v", "vi", "vii")
MAJOR_TRIAD = (0, 4, 7)
MINOR_TRIAD = (0, 3, 7)


@dataclass(frozen=True)
class Chord:
    """A chord in a key: root pitch class (absolute, C=0), triad intervals, length in bars."""

    root_pc: int
    intervals: tuple[int, ...]
    bars: int
    numeral: str

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        return tuple((self.root_pc + i) % 12 for i in self.intervals)


def parse_numeral(numeral: str, key_root: int, mode: str) -> tuple[int, tuple[int, ...]]:
    """Root pitch class and triad of a roman numeral in a key; raises ``ValueError`` if unknown."""
    if mode not in SCALES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    low = numeral.lower()
    if low not in _NUMERALS:
        raise ValueError(f"unknown roman numeral {numeral!r}")
    degree = _NUMERALS.index(low)
    root = (key_root + SCALES[mode][degree]) % 12
    return root, MINOR_TRIAD if numeral == low else MAJOR_TRIAD


def parse_progression(text: str, key_root: int, mode: str) -> list[Chord]:
    """Parse ``"i:2 VI:1 VII:1"`` into chords; every chord lasts at least one bar."""
    chords = []
    for token in text.split():
        numeral, _, bars = token.partition(":")
        n_bars = int(bars) if bars else 1
        if n_bars < 1:
            raise ValueError(f"chord length must be >= 1 bar: {token!r}")
        root, intervals = parse_numeral(numeral, key_root, mode)
        chords.append(Chord(root, intervals, n_bars, numeral))
    if not chords:
        raise ValueError("empty progression")
    return chords


def chord_per_bar(chords: list[Chord], n_bars: int) -> list[Chord]:
    """The chord playing in each of ``n_bars`` bars, cycling the progression."""
    cycle = [c for c in chords for _ in range(c.bars)]
    return [cycle[b % len(cycle)] for b in range(n_bars)]


def voice_chord(chord: Chord, low_midi: int, root_low_midi: int | None = None) -> np.ndarray:
    """MIDI notes of the chord in close position inside the octave starting at ``low_midi``.

    Each pitch class goes to its lowest note >= ``low_midi``, so successive chords move by small
    steps (simple voice leading) and stay in a register where chroma features see them clearly.
    With ``root_low_midi`` the root is doubled below (left-hand root), weighting chord roots.
    """
    notes = sorted(low_midi + ((pc - low_midi) % 12) for pc in chord.pitch_classes)
    if root_low_midi is not None:
        notes.insert(0, note_in_register(chord.root_pc, root_low_midi))
    return np.array(notes, dtype=np.int64)


def note_in_register(pc: int, low_midi: int) -> int:
    """The MIDI note of pitch class ``pc`` in the octave starting at ``low_midi``."""
    return low_midi + ((pc - low_midi) % 12)


def scale_degree_note(key_root: int, mode: str, degree: int, low_midi: int) -> int:
    """MIDI note of scale degree ``degree`` (0 = tonic; wraps into higher octaves)."""
    scale = SCALES[mode]
    octave, idx = divmod(degree, len(scale))
    return note_in_register((key_root + scale[idx]) % 12, low_midi) + 12 * octave
