"""Features stage: read each track's windows once at the analysis rate and analyse them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from dj_pipeline.stages.common import StageOutput, run_per_track
from dj_pipeline.windows import Window, read_windows


def windows_by_track(windows: pd.DataFrame) -> dict[str, list[Window]]:
    """Group ``track_windows`` rows into ``Window`` lists per track id."""
    out: dict[str, list[Window]] = {}
    for r in windows.itertuples(index=False):
        out.setdefault(r.track_id, []).append(Window(r.window, float(r.start_s), float(r.end_s)))
    return out


def features_for_batch(tracks: pd.DataFrame, windows: pd.DataFrame, show_progress: bool = True) -> StageOutput:
    """``track_features`` rows for the tracks of a batch that have windows."""
    from dj_pipeline.analysis import FEATURE_COLUMNS, analyze_segments, load_analysis_config

    config = load_analysis_config()
    by_track = windows_by_track(windows)
    todo = tracks[tracks["track_id"].isin(by_track)]

    def one(track: Any) -> Iterator[dict[str, Any]]:
        segments = read_windows(track.path, by_track[track.track_id], config.sr)
        feats = analyze_segments(segments, config.sr, float(track.duration_s), config)
        yield {"track_id": track.track_id, **feats}

    return run_per_track(todo, one, "features", ["track_id", *FEATURE_COLUMNS], show_progress)
