"""Table rows of a track's structure: ``track_structure``, ``track_sections``, ``track_cues``.

Bars in the tables are 1-based (bar 1 starts at the first downbeat), as a DJ counts them.
"""

from __future__ import annotations

from typing import Any

from dj_pipeline.structure.analyze import TrackStructure

STRUCTURE_COLUMNS = ["track_id", "grid_source", "bpm", "first_downbeat_s", "bar_s", "n_bars", "phrase_phase", "grid_fit", "n_sections", "reason", "bar_level_db"]
SECTION_COLUMNS = ["track_id", "section", "label", "start_s", "end_s", "start_bar", "n_bars", "level_db", "low_db", "novelty"]
CUE_COLUMNS = ["track_id", "type", "time_s", "bar", "confidence", "length_bars", "reason"]


def structure_row(track_id: str, s: TrackStructure) -> dict[str, Any]:
    g = s.grid
    return {
        "track_id": track_id,
        "grid_source": g.source if g else None,
        "bpm": g.bpm if g else None,
        "first_downbeat_s": round(float(g.downbeats_s[0]), 3) if g is not None and g.n_bars else None,
        "bar_s": round(g.bar_s, 4) if g is not None and g.n_bars > 1 else None,
        "n_bars": g.n_bars if g else 0,
        "phrase_phase": s.phrase_phase + 1,
        "grid_fit": s.fit_share,
        "n_sections": len(s.sections),
        "reason": s.reason,
        "bar_level_db": [round(float(x), 1) for x in s.curves.level_db] if s.curves is not None else [],
    }


def section_rows(track_id: str, s: TrackStructure) -> list[dict[str, Any]]:
    """One row per section; times from the grid (the first section starts at 0 s, the last ends at the end cue)."""
    if s.grid is None or not s.sections:
        return []
    downs, bar_s = s.grid.downbeats_s, s.grid.bar_s

    def at(bar: int) -> float:
        return float(downs[bar]) if bar < downs.size else float(downs[-1] + (bar - downs.size + 1) * bar_s)

    rows = []
    for i, sec in enumerate(s.sections):
        start = 0.0 if i == 0 else at(sec.start_bar)
        end = min(at(sec.start_bar + sec.n_bars), s.duration_s)
        rows.append({
            "track_id": track_id, "section": i + 1, "label": sec.label, "start_s": round(start, 3), "end_s": round(end, 3),
            "start_bar": sec.start_bar + 1, "n_bars": sec.n_bars, "level_db": sec.level_db, "low_db": sec.low_db, "novelty": sec.novelty,
        })  # fmt: skip
    return rows


def cue_rows(track_id: str, s: TrackStructure) -> list[dict[str, Any]]:
    """One row per cue type (NULL time and bar, with the reason, when it could not be placed)."""
    return [
        {
            "track_id": track_id, "type": c.type, "time_s": c.time_s, "bar": None if c.bar is None else c.bar + 1,
            "confidence": c.confidence, "length_bars": c.length_bars, "reason": c.reason,
        }  # fmt: skip
        for c in s.cues
    ]
