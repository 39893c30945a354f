"""What ``dj analyze`` and ``dj cues`` print: sections and the cue sheet (time, bar, type).

``dj cues TRACK`` reads ``track_cues`` for a library track (by track id or path); a file that is not
in the library is analysed on the fly, with the same code as the pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from dj_pipeline import timecode
from dj_pipeline.errors import UserError
from dj_pipeline.structure.analyze import TrackStructure, analyze_structure
from dj_pipeline.structure.rows import CUE_COLUMNS, SECTION_COLUMNS, cue_rows, section_rows


def structure_of_features(path: str | os.PathLike, features: dict[str, Any]) -> TrackStructure:
    """The structure of a file analysed by ``analyze_file``, as an ingest builds it: on the whole-track
    beat grid (``track_beats``, at the analysed tempo), on its tempo and first downbeat when that has no beats."""
    from dj_pipeline.analysis import load_analysis_config
    from dj_pipeline.analysis.beats import file_beats

    grid = file_beats(path, features.get("bpm"), load_analysis_config())
    beats = (grid.beats_s, grid.downbeats_s) if grid.beats_s.size >= 2 else (None, None)
    return analyze_structure(path, features.get("bpm"), features.get("first_downbeat_s"), features.get("bpm_confidence"), None, None, *beats)


def structure_json(track_id: str, s: TrackStructure) -> dict[str, Any]:
    """``{"sections": [...], "cues": [...]}``: the rows of ``track_sections`` and ``track_cues``."""
    return {"sections": section_rows(track_id, s), "cues": cue_rows(track_id, s)}


def clock(t: float | None) -> str:
    """``m:ss.ss`` (how a DJ reads a cue), ``-`` for none."""
    return timecode.clock(t, decimals=2)


def cue_records(cues: pd.DataFrame) -> list[dict[str, Any]]:
    """Cue rows as JSON-ready dicts (missing values as ``None``, not NaN)."""
    return cues.astype(object).where(cues.notna(), None).to_dict("records")


def section_lines(sections: pd.DataFrame) -> list[str]:
    """One line per section: label, start-end time, first bar and length in bars."""
    if sections.empty:
        return ["sections: none"]
    lines = ["sections:"]
    for r in sections.itertuples():
        lines.append(f"  {r.label:<9} {clock(r.start_s):>8} - {clock(r.end_s):<8}  bar {int(r.start_bar):>4}  {int(r.n_bars):>3} bars")
    return lines


def cue_lines(cues: pd.DataFrame) -> list[str]:
    """The cue sheet: time, bar, type, confidence, mix length; a NULL cue shows its reason."""
    lines = [f"{'time':>8}  {'bar':>4}  {'type':<9}  conf  length"]
    for r in cues.itertuples():
        bar = "-" if r.bar is None or pd.isna(r.bar) else str(int(r.bar))
        length = "" if r.length_bars is None or pd.isna(r.length_bars) else f"{int(r.length_bars)} bars"
        note = f"  ({r.reason})" if isinstance(r.reason, str) and r.reason else ""
        lines.append(f"{clock(r.time_s):>8}  {bar:>4}  {r.type:<9}  {float(r.confidence):.2f}  {length}{note}")
    return lines


def analyze_lines(track_id: str, s: TrackStructure) -> list[str]:
    """What ``dj analyze`` prints after the features."""
    rows = structure_json(track_id, s)
    sections = pd.DataFrame(rows["sections"], columns=SECTION_COLUMNS)
    cues = pd.DataFrame(rows["cues"], columns=CUE_COLUMNS)
    return ["", *section_lines(sections), "", "cues:", *("  " + line for line in cue_lines(cues))]


def library_cues(data_dir: str | os.PathLike | None, track: str) -> tuple[str, pd.DataFrame] | None:
    """``(path, cue rows)`` of a library track given by id or path; ``None`` when it is not in the library."""
    from dj_pipeline.storage import DataPaths, read_asset
    from dj_pipeline.storage.tables import read_catalog

    paths = DataPaths(data_dir)
    catalog = read_catalog(paths)
    if catalog.empty:
        return None
    wanted = str(Path(track).expanduser().resolve()) if Path(track).expanduser().exists() else None
    match = catalog[(catalog["track_id"] == track) | (catalog["path"].map(lambda p: str(Path(p).resolve())) == wanted)]
    if match.empty:
        return None
    track_id, path = str(match["track_id"].iloc[0]), str(match["path"].iloc[0])
    cues = read_asset(paths, "track_cues", catalog=catalog)
    cues = cues[cues["track_id"] == track_id] if not cues.empty else cues
    if cues.empty:
        raise UserError(f"no cues for {path} yet: run `dj ingest` (the track_structure asset)")
    return path, cues.reindex(columns=CUE_COLUMNS)


def cue_sheet(data_dir: str | os.PathLike | None, track: str) -> tuple[str, pd.DataFrame]:
    """The cue rows of ``track``: from the library when it is there, else analysed from the file."""
    found = library_cues(data_dir, track)
    if found is not None:
        return found
    if not Path(track).expanduser().is_file():
        raise UserError(f"not a library track id or path, nor an audio file: {track}")
    from dj_pipeline.analysis import analyze_file
    from dj_pipeline.audio import AudioDecodeError

    try:
        features = analyze_file(track)
        s = structure_of_features(track, features)
    except AudioDecodeError as exc:
        raise UserError(f"cannot analyse {track}: {exc}") from None
    return track, pd.DataFrame(cue_rows(features["track_id"], s), columns=CUE_COLUMNS)
