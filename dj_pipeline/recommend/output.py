"""Presenting recommendations: JSON, a readable table, and M3U8 playlists of a session."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dj_pipeline.timecode import clock

RELAXED_WORDS: dict[str, str] = {"key": "key clash", "bpm": "tempo off", "energy": "misses the goal", "artist": "same artist", "style": "other style"}


def results_to_json(results: Sequence[dict[str, Any]], indent: int | None = 2) -> str:
    """The results as JSON (they hold only str/float/None/list/dict, never NaN)."""
    return json.dumps(list(results), indent=indent, allow_nan=False)


def format_table(results: Sequence[dict[str, Any]], note: str | None = None) -> str:
    """A fixed-width table: rank, 0-100 match, BPM, key and Camelot, energy level, where to mix in
    (when the library has cues), reasons in words, the track, and what a relaxed pick breaks; the
    current track's mix-out point above it. ``note`` is printed above it ("this is ...").
    Results without a ``match`` (a text search) show their score as it is."""
    head = [note] if note else []
    if not results:
        return "\n".join([*head, "(no recommendations)"])
    mix_out = mix_out_line(results[0])
    head += [mix_out] if mix_out else []
    with_mix = any(r.get("mix_in_s") is not None for r in results)
    columns = ["#", "match", "bpm", "key", "camelot", "energy", *(["mix in"] if with_mix else []), "why", "track", "note"]
    rows = []
    for i, r in enumerate(results, 1):
        match = f"{r['match']:.0f}" if r.get("match") is not None else _fmt(r.get("score"), "{:.3f}")
        level = r.get("energy_level")
        rows.append(
            [
                str(i),
                match,
                _fmt(r.get("bpm"), "{:.1f}"),
                r.get("key") or "-",
                r.get("camelot") or "-",
                f"{level}/10" if level is not None else _fmt(r.get("energy"), "{:.2f}"),
                *([cue_text(r.get("mix_in_s"), r.get("mix_in_bars"))] if with_mix else []),
                ", ".join(r.get("reasons") or []) or "-",
                display_name(r),
                ", ".join(RELAXED_WORDS.get(x, x) for x in r.get("relaxed") or []),
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([*head, *lines])


def mix_out_line(result: dict[str, Any]) -> str | None:
    """"mix out of the current track at 5:12 (bar 161, 32 bars)" when its mix_out cue is known."""
    at = result.get("current_mix_out_s")
    if at is None:
        return None
    bar, bars = result.get("current_mix_out_bar"), result.get("current_mix_out_bars")
    detail = ", ".join(x for x in (f"bar {bar:.0f}" if bar is not None else "", f"{bars:.0f} bars" if bars else "") if x)
    return f"mix out of the current track at {clock(at)}" + (f" ({detail})" if detail else "")


def cue_text(time_s: float | None, bars: float | None) -> str:
    """"0:15 16 bars": a cue's time and its mix length; "-" when unknown."""
    return f"{clock(time_s)} {bars:.0f} bars" if time_s is not None and bars else clock(time_s)


def display_name(item: dict[str, Any]) -> str:
    """"Artist - Title" when tagged, else the file name, else the track id."""
    artist, title = item.get("artist"), item.get("title")
    if artist and title:
        return f"{artist} - {title}"
    if title:
        return str(title)
    if item.get("path"):
        return Path(str(item["path"])).name
    return str(item.get("track_id") or "?")


def _fmt(value: Any, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def m3u8_text(items: Sequence[dict[str, Any]], playlist_name: str | None = None) -> str:
    """Extended M3U (UTF-8) text: ``#EXTINF:<seconds>,<Artist - Title>`` then the file path.

    Items without a path (nothing a player could open) are left out. Unknown lengths are ``-1``,
    as the format specifies.
    """
    lines = ["#EXTM3U"]
    if playlist_name:
        lines.append(f"#PLAYLIST:{playlist_name}")
    for it in items:
        path = it.get("path")
        if not path:
            continue
        dur = it.get("duration_s")
        secs = int(round(float(dur))) if isinstance(dur, (int, float)) and dur == dur and dur > 0 else -1
        lines.append(f"#EXTINF:{secs},{display_name(it)}")
        lines.append(str(path))
    return "\n".join(lines) + "\n"


def write_m3u8(items: Sequence[dict[str, Any]], out: str | os.PathLike, playlist_name: str | None = None) -> Path:
    """Write :func:`m3u8_text` to ``out`` (parent folders created)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(m3u8_text(items, playlist_name), encoding="utf-8")
    return out
