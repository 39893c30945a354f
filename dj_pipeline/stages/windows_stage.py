"""Windows stage: choose each track's sampled windows; reject silent tracks."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.catalog.admission import silent
from dj_pipeline.config.ingest import IngestConfig
from dj_pipeline.config.windows import WindowsConfig
from dj_pipeline.stages.common import StageOutput, TrackRejected, run_per_track
from dj_pipeline.windows.envelope import compute_envelope
from dj_pipeline.windows.select import choose_windows, seed_from_track_id

WINDOW_COLUMNS = ["track_id", "window", "start_s", "end_s", "duration_s", "profile"]


def windows_of_track(
    path: str, track_id: str, duration_s: float, profile: str | None, config: WindowsConfig, ingest: IngestConfig
) -> Iterator[dict[str, Any]]:
    """Rows of ``track_windows`` for one track; raises :class:`TrackRejected` when it is silent."""
    name, prof = config.profile(profile)
    env = compute_envelope(path, config.envelope)
    reason = silent(float(env.rms_db.max()) if env.rms_db.size else -np.inf, ingest)  # the rule --current obeys too
    if reason is not None:
        raise TrackRejected(reason)
    for w in choose_windows(env, duration_s, prof, config, seed_from_track_id(track_id)):
        yield {
            "track_id": track_id,
            "window": w.name,
            "start_s": w.start_s,
            "end_s": w.end_s,
            "duration_s": round(w.duration_s, 3),
            "profile": name,
        }


def windows_for_batch(
    tracks: pd.DataFrame,
    config: WindowsConfig,
    ingest: IngestConfig,
    profile: str | None = None,
    show_progress: bool = True,
) -> StageOutput:
    """``track_windows`` rows for a batch of catalog rows (spread over ``ingest.workers`` processes)."""
    return run_per_track(
        tracks,
        partial(_windows_rows, profile=profile, config=config, ingest=ingest),
        stage="windows",
        columns=WINDOW_COLUMNS,
        show_progress=show_progress,
        workers=ingest.workers,
        min_tracks_per_worker=ingest.min_tracks_per_worker,
    )


def _windows_rows(track: Any, profile: str | None, config: WindowsConfig, ingest: IngestConfig) -> list[dict[str, Any]]:
    return list(windows_of_track(track.path, track.track_id, float(track.duration_s), profile, config, ingest))
