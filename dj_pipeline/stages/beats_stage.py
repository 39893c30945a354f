"""Beats stage: the whole-track beat grid (``track_beats``) of each track of a batch.

One row per beat: ``beat_index`` (0, 1, ...), ``time_s`` (from the track start), ``bar_pos``
(1 = downbeat .. ``beats_per_bar``) and ``local_bpm`` (60 / the interval to the next beat, so a
tempo change or a drifting live drummer shows up). The tempo comes from ``track_features`` (after
the tag logic); the grid from :func:`dj_pipeline.analysis.beats.file_beats`, a streamed pass over
the whole file. A track without a tempo (ambient, silence) has no rows.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.ingest import IngestConfig, load_ingest_config
from dj_pipeline.stages.common import StageOutput, run_per_track

BEAT_COLUMNS = ["track_id", "beat_index", "time_s", "bar_pos", "local_bpm"]


def beats_for_batch(
    tracks: pd.DataFrame, features: pd.DataFrame, show_progress: bool = True, ingest: IngestConfig | None = None
) -> StageOutput:
    """``track_beats`` rows for the catalog rows of a batch that have a ``track_features`` row."""
    from dj_pipeline.analysis import load_analysis_config

    ingest = ingest or load_ingest_config()
    bpm = features[["track_id", "bpm"]] if "bpm" in features else pd.DataFrame(columns=["track_id", "bpm"])
    todo = tracks.merge(bpm, on="track_id", how="inner")
    return run_per_track(
        todo,
        partial(_beat_rows, config=load_analysis_config()),
        "beats",
        BEAT_COLUMNS,
        show_progress,
        workers=ingest.workers,
        min_tracks_per_worker=ingest.min_tracks_per_worker,
    )


def beat_rows(track_id: str, beats_s: np.ndarray, bar_pos: np.ndarray) -> list[dict[str, Any]]:
    """``track_beats`` rows of one track from its beat times and bar positions."""
    if beats_s.size == 0:
        return []
    gaps = np.diff(beats_s)
    local = 60.0 / np.append(gaps, gaps[-1:]) if gaps.size else np.full(1, np.nan)
    return [
        {"track_id": track_id, "beat_index": i, "time_s": float(t), "bar_pos": int(p), "local_bpm": round(float(b), 2) if np.isfinite(b) else None}
        for i, (t, p, b) in enumerate(zip(beats_s, bar_pos, local))
    ]


def _beat_rows(track: Any, config: Any) -> list[dict[str, Any]]:
    from dj_pipeline.analysis.beats import file_beats

    bpm = None if track.bpm is None or pd.isna(track.bpm) else float(track.bpm)
    grid = file_beats(track.path, bpm, config)
    return beat_rows(track.track_id, grid.beats_s, grid.bar_pos)
