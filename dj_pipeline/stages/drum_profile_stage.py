"""Drum-profile stage: role shares of the drum hits in each track's main window (opt-in)."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd

from dj_pipeline.config.ingest import IngestConfig, load_ingest_config
from dj_pipeline.stages.common import StageOutput, run_per_track
from dj_pipeline.stages.features_stage import tracks_with_windows
from dj_pipeline.windows import read_windows

PROFILE_WINDOW = "main"  # the groove: the window most representative of the track's drums


def drum_profiles_for_batch(
    tracks: pd.DataFrame, windows: pd.DataFrame, show_progress: bool = True, ingest: IngestConfig | None = None
) -> StageOutput:
    """``track_drum_profiles`` rows: n_hits, share_<role>, mean_confidence, fusion_alpha per track.

    The main window's percussive component is sliced at onsets and each hit goes through the same
    role assigner as the one-shot folder (rules only: per-hit CLAP would cost seconds per track).
    """
    from dj_pipeline.roles import ROLES, load_roles_config

    ingest = ingest or load_ingest_config()
    config = load_roles_config()
    columns = ["track_id", "n_hits", *[f"share_{r.lower()}" for r in ROLES], "mean_confidence", "fusion_alpha"]
    main_only = windows[windows["window"] == PROFILE_WINDOW]
    return run_per_track(
        tracks_with_windows(tracks, main_only),
        partial(_profile_rows, config=config),
        "drum_profiles",
        columns,
        show_progress,
        workers=ingest.workers,
        min_tracks_per_worker=ingest.min_tracks_per_worker,
    )


def _profile_rows(track: Any, config: Any) -> list[dict[str, Any]]:
    from dj_pipeline.roles import track_drum_profile

    segments = read_windows(track.path, track.windows, config.profile.sr)
    return [{"track_id": track.track_id, **track_drum_profile(segments[PROFILE_WINDOW], config.profile.sr, config)}]
