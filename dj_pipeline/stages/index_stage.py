"""Build the library's vector indexes from ``track_embeddings`` (current rows only, one backend)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.storage import DataPaths, read_asset

INDEXED_WINDOWS: dict[str, str] = {"intro": "intro", "outro": "outro", "track": "track"}


def choose_backend(embeddings: pd.DataFrame) -> tuple[str, str]:
    """The (backend, model) the index is built for: the one covering most tracks.

    A library embedded partly with CLAP and partly with DSP (weights added later) is never mixed
    into one index; the tracks of the other backend are left out and counted in the metadata until
    their batches are re-embedded.
    """
    per_track = embeddings.drop_duplicates(["track_id", "backend", "model"])
    counts = Counter(zip(per_track["backend"], per_track["model"]))
    (backend, model), _ = max(counts.items(), key=lambda kv: (kv[1], kv[0][0] == "clap"))
    return str(backend), str(model)


def build_library_indexes(paths: DataPaths) -> dict[str, Any]:
    """(Re)build the ``intro``, ``outro`` and ``track`` indexes under ``paths.index_dir``."""
    from dj_pipeline.embeddings import fit_library_standardizer
    from dj_pipeline.index import build_index

    embeddings = read_asset(paths, "track_embeddings")
    if embeddings.empty:
        return {"backend": None, "model": None, "indexes": {}, "skipped": "no embeddings yet"}
    backend, model = choose_backend(embeddings)
    same = embeddings[(embeddings["backend"] == backend) & (embeddings["model"] == model)]
    excluded = int(embeddings["track_id"].nunique() - same["track_id"].nunique())
    raw = {w: same[same["window"] == w] for w in INDEXED_WINDOWS}
    all_raw = np.vstack([np.stack(df["vector"].to_numpy()) for df in raw.values() if not df.empty]).astype(np.float32)
    standardizer = fit_library_standardizer(all_raw, backend)
    standardizer.save(paths.index_dir)
    info: dict[str, Any] = {"backend": backend, "model": model, "excluded_other_backend": excluded, "indexes": {}}
    for window, name in INDEXED_WINDOWS.items():
        df = raw[window]
        if df.empty:
            continue
        vectors = standardizer.transform(np.stack(df["vector"].to_numpy()).astype(np.float32))
        info["indexes"][name] = build_index(vectors, df["track_id"].tolist(), paths.index_dir, name, backend, model)
    return info
