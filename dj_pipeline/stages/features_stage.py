"""Features stage: read each track's windows once at the analysis rate and analyse them."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd

from dj_pipeline.config.ingest import IngestConfig, load_ingest_config
from dj_pipeline.stages.common import StageOutput, run_per_track
from dj_pipeline.windows import Window, read_windows

WINDOWS_COLUMN = "windows"  # per-track list of Window, attached to the catalog rows a stage gets


def windows_by_track(windows: pd.DataFrame) -> dict[str, list[Window]]:
    """Group ``track_windows`` rows into ``Window`` lists per track id."""
    out: dict[str, list[Window]] = {}
    for r in windows.itertuples(index=False):
        out.setdefault(r.track_id, []).append(Window(r.window, float(r.start_s), float(r.end_s)))
    return out


def tracks_with_windows(tracks: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """The catalog rows that have windows, each with its ``windows`` list attached."""
    by_track = windows_by_track(windows)
    todo = tracks[tracks["track_id"].isin(by_track)].copy()
    todo[WINDOWS_COLUMN] = [by_track[t] for t in todo["track_id"]]
    return todo


def features_for_batch(
    tracks: pd.DataFrame, windows: pd.DataFrame, show_progress: bool = True, ingest: IngestConfig | None = None
) -> StageOutput:
    """``track_features`` rows for the tracks of a batch that have windows."""
    from dj_pipeline.analysis import FEATURE_COLUMNS, load_analysis_config

    ingest = ingest or load_ingest_config()
    return run_per_track(
        tracks_with_windows(tracks, windows),
        partial(_feature_rows, config=load_analysis_config()),
        "features",
        ["track_id", *FEATURE_COLUMNS],
        show_progress,
        workers=ingest.workers,
        min_tracks_per_worker=ingest.min_tracks_per_worker,
    )


def _feature_rows(track: Any, config: Any) -> list[dict[str, Any]]:
    from dj_pipeline.analysis import analyze_segments

    segments = read_windows(track.path, track.windows, config.sr)
    tags = {k: getattr(track, k, None) for k in ("genre", "tag_bpm", "tag_key")}
    tags = {k: (None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v) for k, v in tags.items()}
    return [{"track_id": track.track_id, **analyze_segments(segments, config.sr, float(track.duration_s), config, tags=tags)}]
