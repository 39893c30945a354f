"""Embed the windows of many tracks in one call, so a GPU backend batches across tracks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dj_pipeline.config.embeddings import PoolConfig
from dj_pipeline.embeddings.base import Embedder
from dj_pipeline.embeddings.pooling import pool_track_vector


def embed_tracks(
    embedder: Embedder, tracks: Sequence[Mapping[str, np.ndarray]], sr: int, pool: PoolConfig | None = None
) -> list[dict[str, np.ndarray]]:
    """For each track's ``{window name: mono audio}``: ``{window name: vector, "track": pooled vector}``.

    All windows of all tracks go through one ``embedder.embed`` call (CLAP batches their chunks
    together on the device). One bad window raises for the whole call; callers that must isolate
    failures per track embed track by track instead.
    """
    names = [list(t) for t in tracks]
    flat = [t[n] for t, ns in zip(tracks, names) for n in ns]
    vectors = embedder.embed(flat, sr) if flat else np.zeros((0, embedder.dim), dtype=np.float32)
    out: list[dict[str, np.ndarray]] = []
    start = 0
    for ns in names:
        per_window = dict(zip(ns, vectors[start : start + len(ns)]))
        start += len(ns)
        if per_window:
            per_window["track"] = pool_track_vector(per_window, pool)
        out.append(per_window)
    return out
