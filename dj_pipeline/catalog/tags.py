"""Tags (artist, title, album, genre, existing BPM/key) read with tinytag."""

from __future__ import annotations

import os
from typing import Any

from dj_pipeline.music import key_name, parse_key

TAG_COLUMNS = ("artist", "title", "album", "genre", "tag_bpm", "tag_key")


def read_tags(path: str | os.PathLike) -> dict[str, Any]:
    """Tags of an audio file; missing tags are ``None``. Never raises for unreadable tags.

    ``tag_bpm`` is a float when the file carries a parseable BPM tag; ``tag_key`` is normalised to
    "A minor" notation when the file carries a key tag in any common notation ("Am", "8A" ...).
    """
    out: dict[str, Any] = dict.fromkeys(TAG_COLUMNS)
    try:
        from tinytag import TinyTag

        tag = TinyTag.get(str(path))
    except Exception:  # tinytag raises its own error types for unsupported/corrupt files
        return out
    for col in ("artist", "title", "album", "genre"):
        value = getattr(tag, col, None)
        out[col] = str(value).strip() or None if value else None
    other = getattr(tag, "other", {}) or {}
    out["tag_bpm"] = _first_float(other.get("bpm"))
    raw_key = _first(other.get("initial_key")) or _first(other.get("key"))
    if raw_key:
        try:
            out["tag_key"] = key_name(*parse_key(raw_key))
        except ValueError:
            out["tag_key"] = None
    return out


def _first(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


def _first_float(value: Any) -> float | None:
    text = _first(value)
    try:
        bpm = float(text) if text is not None else None
    except ValueError:
        return None
    return bpm if bpm and bpm > 0 else None
