"""Presenting recommendations: JSON, a readable table, and M3U8 playlists of a session."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TABLE_COMPONENTS: tuple[str, ...] = ("similarity", "style", "tempo", "energy_goal", "key", "low_end", "diversity", "learned")


def results_to_json(results: Sequence[dict[str, Any]], indent: int | None = 2) -> str:
    """The results as JSON (they hold only str/float/None/list/dict, never NaN)."""
    return json.dumps(list(results), indent=indent, allow_nan=False)


def format_table(results: Sequence[dict[str, Any]], max_title: int = 36) -> str:
    """A fixed-width table: rank, score, BPM, key, energy and loudness, the main components,
    relaxations, title."""
    if not results:
        return "(no recommendations)"
    comps = [c for c in TABLE_COMPONENTS if any(c in r.get("components", {}) for r in results)]
    head = ["#", "score", "bpm", "camelot", "energy", "lufs", *[c[:8] for c in comps], "relaxed", "track"]
    rows = []
    for i, r in enumerate(results, 1):
        name = display_name(r)
        rows.append(
            [
                str(i),
                f"{r['score']:.3f}",
                _fmt(r.get("bpm"), "{:.1f}"),
                r.get("camelot") or "-",
                _fmt(r.get("energy"), "{:.2f}"),
                _fmt(r.get("loudness_lufs"), "{:.1f}"),
                *[_fmt(r.get("components", {}).get(c), "{:+.2f}") for c in comps],
                ",".join(r.get("relaxed") or []) or "-",
                name if len(name) <= max_title else name[: max_title - 1] + "…",
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


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
