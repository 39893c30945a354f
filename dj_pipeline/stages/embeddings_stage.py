"""Embeddings stage: one vector per window and a pooled track vector, batched across tracks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.stages.common import StageOutput, run_per_track
from dj_pipeline.stages.features_stage import windows_by_track
from dj_pipeline.windows import read_windows

EMBEDDING_COLUMNS = ["track_id", "window", "backend", "model", "dim", "vector"]


def embeddings_for_batch(tracks: pd.DataFrame, windows: pd.DataFrame, embedder: Any, show_progress: bool = True) -> StageOutput:
    """``track_embeddings`` rows: each window of each track, plus ``window="track"`` (pooled).

    Audio is read once per track at the embedder's rate; all windows of a track go through the
    embedder in one call (the embedder batches internally for its device).
    """
    from dj_pipeline.embeddings import pool_track_vector

    by_track = windows_by_track(windows)
    todo = tracks[tracks["track_id"].isin(by_track)]

    def one(track: Any) -> Iterator[dict[str, Any]]:
        segments = read_windows(track.path, by_track[track.track_id], embedder.sr)
        names = list(segments)
        vectors = embedder.embed([segments[n] for n in names], sr=embedder.sr)
        per_window = dict(zip(names, vectors))
        per_window["track"] = pool_track_vector(per_window)
        for name, vec in per_window.items():
            yield {
                "track_id": track.track_id,
                "window": name,
                "backend": embedder.backend,
                "model": embedder.model,
                "dim": int(vec.shape[0]),
                "vector": np.asarray(vec, dtype=np.float32).tolist(),
            }

    return run_per_track(todo, one, "embeddings", EMBEDDING_COLUMNS, show_progress)
