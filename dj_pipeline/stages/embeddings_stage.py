"""Embeddings stage: one vector per window and a pooled track vector."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.ingest import IngestConfig, load_ingest_config
from dj_pipeline.stages.common import StageOutput, run_per_track
from dj_pipeline.stages.features_stage import tracks_with_windows
from dj_pipeline.windows import read_windows

EMBEDDING_COLUMNS = ["track_id", "window", "backend", "model", "dim", "vector"]
IN_PROCESS_BACKENDS = frozenset({"clap"})  # a model on a device: one process, batched on the device


def embeddings_for_batch(
    tracks: pd.DataFrame, windows: pd.DataFrame, embedder: Any, show_progress: bool = True, ingest: IngestConfig | None = None
) -> StageOutput:
    """``track_embeddings`` rows: each window of each track, plus ``window="track"`` (pooled).

    Audio is read once per track at the embedder's rate; all windows of a track go through the
    embedder in one call (CLAP batches their 10 s chunks on its device). The DSP embedder is
    spread over worker processes like the other stages; CLAP stays in one process.
    """
    ingest = ingest or load_ingest_config()
    workers = 1 if embedder.backend in IN_PROCESS_BACKENDS else ingest.workers
    return run_per_track(
        tracks_with_windows(tracks, windows),
        partial(_embedding_rows, embedder=embedder),
        "embeddings",
        EMBEDDING_COLUMNS,
        show_progress,
        workers=workers,
        min_tracks_per_worker=ingest.min_tracks_per_worker,
    )


def _embedding_rows(track: Any, embedder: Any) -> list[dict[str, Any]]:
    from dj_pipeline.embeddings import pool_track_vector

    segments = read_windows(track.path, track.windows, embedder.sr)
    names = list(segments)
    vectors = embedder.embed([segments[n] for n in names], sr=embedder.sr)
    per_window = dict(zip(names, vectors))
    per_window["track"] = pool_track_vector(per_window)
    return [
        {
            "track_id": track.track_id,
            "window": name,
            "backend": embedder.backend,
            "model": embedder.model,
            "dim": int(vec.shape[0]),
            "vector": np.asarray(vec, dtype=np.float32).tolist(),
        }
        for name, vec in per_window.items()
    ]
