"""Structure stage: each track's streamed envelope + its ``track_features`` tempo -> structure rows.

One more streamed pass over the file (constant memory), then pure functions; tracks are spread over
worker processes like the other per-track stages. Output: three frames (``track_structure``,
``track_sections``, ``track_cues``) with the tracks that could not be read as errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.ingest import IngestConfig, load_ingest_config
from dj_pipeline.config.structure import StructureConfig, load_structure_config
from dj_pipeline.config.windows import EnvelopeConfig, load_windows_config
from dj_pipeline.stages.common import run_per_track
from dj_pipeline.structure.analyze import analyze_structure
from dj_pipeline.structure.rows import CUE_COLUMNS, SECTION_COLUMNS, STRUCTURE_COLUMNS, cue_rows, section_rows, structure_row

TABLE_COLUMNS = {"track_structure": STRUCTURE_COLUMNS, "track_sections": SECTION_COLUMNS, "track_cues": CUE_COLUMNS}
GRID_COLUMNS = ["bpm", "bpm_confidence", "first_downbeat_s"]


@dataclass
class StructureOutput:
    tables: dict[str, pd.DataFrame]  # table name -> rows
    errors: pd.DataFrame

    @property
    def n_ok(self) -> int:
        return int(self.tables["track_structure"]["track_id"].nunique())


def structure_for_batch(
    tracks: pd.DataFrame,
    features: pd.DataFrame,
    show_progress: bool = True,
    ingest: IngestConfig | None = None,
    cfg: StructureConfig | None = None,
    beats: pd.DataFrame | None = None,
) -> StructureOutput:
    """Structure rows for the batch's tracks that have a ``track_features`` row.

    ``beats``: ``track_beats`` rows (issue 13's whole-track beat grid: ``time_s``, ``bar_pos``);
    a track with beats is structured on them, one without on its bpm + first downbeat.
    """
    ingest = ingest or load_ingest_config()
    grid = features.reindex(columns=["track_id", *GRID_COLUMNS]).drop_duplicates("track_id")
    todo = tracks.merge(grid, on="track_id", how="inner")
    todo["beats_s"], todo["downbeats_s"] = beat_arrays(todo["track_id"], beats)
    out = run_per_track(
        todo,
        partial(_rows, cfg=cfg or load_structure_config(), envelope=load_windows_config().envelope),
        "structure",
        ["table", "row"],
        show_progress,
        workers=ingest.workers,
        min_tracks_per_worker=ingest.min_tracks_per_worker,
    )
    tables = {
        name: pd.DataFrame([r for t, r in zip(out.rows["table"], out.rows["row"]) if t == name], columns=cols)
        for name, cols in TABLE_COLUMNS.items()
    }
    return StructureOutput(tables, out.errors)


def beat_arrays(track_ids: pd.Series, beats: pd.DataFrame | None) -> tuple[list, list]:
    """Per track: its beat times and downbeat times (``bar_pos == 1``) from ``track_beats``, or ``None``."""
    if beats is None or beats.empty or not {"track_id", "time_s", "bar_pos"} <= set(beats.columns):
        return [None] * len(track_ids), [None] * len(track_ids)
    by_track = {t: g.sort_values("time_s") for t, g in beats.groupby("track_id")}
    times = [by_track[t]["time_s"].to_numpy(np.float64) if t in by_track else None for t in track_ids]
    downs = [by_track[t].loc[by_track[t]["bar_pos"] == 1, "time_s"].to_numpy(np.float64) if t in by_track else None for t in track_ids]
    return times, downs


def _num(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def _rows(track: Any, cfg: StructureConfig, envelope: EnvelopeConfig) -> list[dict[str, Any]]:
    s = analyze_structure(
        track.path, _num(track.bpm), _num(track.first_downbeat_s), _num(track.bpm_confidence), cfg, envelope, track.beats_s, track.downbeats_s
    )
    rows = [{"table": "track_structure", "row": structure_row(track.track_id, s)}]
    rows += [{"table": "track_sections", "row": r} for r in section_rows(track.track_id, s)]
    rows += [{"table": "track_cues", "row": r} for r in cue_rows(track.track_id, s)]
    return rows
