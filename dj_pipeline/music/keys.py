"""Key names, Camelot and Open Key codes, and harmonic distance on the Camelot wheel.

Conventions (INTERFACE.md): keys are written with sharps ("F# minor"), pitch class C=0, mode is
"major" or "minor". Camelot: major -> ``(8 + 7*pc) mod 12`` "B", minor -> ``(5 + 7*pc) mod 12``
"A" (0 means 12), as in Mixxx's key utilities.
"""

from __future__ import annotations

import re

PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E"}
_MODES = ("major", "minor")


def key_name(root: int, mode: str) -> str:
    """Return the canonical key name, e.g. ``key_name(9, "minor") == "A minor"``."""
    if mode not in _MODES:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    return f"{PITCH_CLASSES[int(root) % 12]} {mode}"


def camelot_code(root: int, mode: str) -> str:
    """Camelot code ("1A".."12B") of a key given by pitch class and mode."""
    if mode == "major":
        n, letter = (8 + 7 * int(root)) % 12, "B"
    elif mode == "minor":
        n, letter = (5 + 7 * int(root)) % 12, "A"
    else:
        raise ValueError(f"mode must be 'major' or 'minor', got {mode!r}")
    return f"{n or 12}{letter}"


def camelot_parse(code: str) -> tuple[int, str]:
    """Split a Camelot code into (number 1..12, letter "A"/"B")."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*([ABab])\s*", str(code))
    if not m or not 1 <= int(m.group(1)) <= 12:
        raise ValueError(f"not a Camelot code: {code!r}")
    return int(m.group(1)), m.group(2).upper()


def open_key_code(root: int, mode: str) -> str:
    """Open Key notation ("1d".."12m"): number = ((camelot + 4) mod 12) + 1."""
    n, letter = camelot_parse(camelot_code(root, mode))
    return f"{((n + 4) % 12) + 1}{'d' if letter == 'B' else 'm'}"


def parse_key(text: str) -> tuple[int, str]:
    """Parse a key written as "A minor", "Am", "F#m", "Bbmaj", "Ebm" or a Camelot code "8A".

    Returns ``(root, mode)``. Raises ``ValueError`` for anything else. Used for tag values
    (``initial_key``) and Rekordbox ``Tonality`` fields, which may be either notation.
    """
    s = str(text).strip()
    if re.fullmatch(r"\d{1,2}\s*[ABab]", s):
        n, letter = camelot_parse(s)
        mode = "minor" if letter == "A" else "major"
        offset = 5 if mode == "minor" else 8
        # invert n = (offset + 7*pc) mod 12; 7 is its own inverse mod 12
        root = (7 * ((n % 12) - offset)) % 12
        return root, mode
    m = re.fullmatch(r"([A-Ga-g])([#b♯♭]?)\s*(.*)", s)
    if not m:
        raise ValueError(f"not a key: {text!r}")
    note = m.group(1).upper() + m.group(2).replace("♯", "#").replace("♭", "b")
    note = _FLATS.get(note, note)
    if note not in PITCH_CLASSES:
        raise ValueError(f"not a key: {text!r}")
    rest = m.group(3).strip().lower()
    if rest in ("", "maj", "major", "dur", "d"):
        mode = "major"
    elif rest in ("m", "min", "minor", "moll"):
        mode = "minor"
    else:
        raise ValueError(f"not a key: {text!r}")
    return PITCH_CLASSES.index(note), mode


def camelot_distance(a: str, b: str) -> int:
    """Harmonic distance between two Camelot codes.

    0: same key; 1: adjacent number with the same letter, or the relative key (same number,
    other letter); otherwise the number of wheel steps plus one for a letter change. Values
    0 and 1 are the classic compatible moves.
    """
    na, la = camelot_parse(a)
    nb, lb = camelot_parse(b)
    steps = min((na - nb) % 12, (nb - na) % 12)
    if la == lb:
        return steps
    return steps + 1
