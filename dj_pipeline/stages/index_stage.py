"""Build the library's vector indexes from ``track_embeddings`` (current rows only, one backend)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.embeddings import IndexConfig
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
    """(Re)build the ``intro``, ``outro``, ``track`` and ``style`` indexes under ``paths.index_dir``.

    ``style`` holds the track vectors diffused over the library's nearest-neighbour graph
    (:mod:`dj_pipeline.index.style`); it depends on the whole library, so it is rebuilt with it.
    """
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
    if "track" in info["indexes"]:
        info["indexes"]["style"] = build_style_index(paths)
    return info


def build_style_index(paths: DataPaths, config: IndexConfig | None = None) -> dict[str, Any]:
    """The ``style`` index from the built ``track`` index (same backend and model), its k-NN
    graph found by that index's own search (exact when flat, HNSW/IVF at scale). Not recomputed
    while the track vectors and the ``index.style`` settings are unchanged."""
    from dataclasses import asdict, replace

    from dj_pipeline.config.embeddings import load_embeddings_config
    from dj_pipeline.index import VectorIndex, build_index
    from dj_pipeline.index.files import read_meta
    from dj_pipeline.index.style import graph_neighbors, style_index_is_current, style_vectors

    config = config or load_embeddings_config().index
    track = VectorIndex.load(paths.index_dir, "track", config=config)
    made_from = {"track_fingerprint": track.meta["fingerprint"], "style_params": asdict(config.style)}
    old = read_meta(paths.index_dir, "style")
    if style_index_is_current(old, track.meta) and old.get("style_params") == made_from["style_params"]:
        try:
            VectorIndex.load(paths.index_dir, "style", use_faiss=False, config=config)
            return {**old, "reused": "unchanged", "build_s": 0.0, "diffuse_s": 0.0}
        except (FileNotFoundError, RuntimeError, ValueError):
            pass  # files missing or inconsistent: rebuild
    t0 = time.perf_counter()
    vectors = style_vectors(np.asarray(track.vectors), config.style, track.search_rows)
    made_from["diffuse_s"] = round(time.perf_counter() - t0, 4)
    made_from["graph_neighbors"] = graph_neighbors(len(track.ids), config.style)
    # looked up by id, never searched: always a flat index (no HNSW/IVF build)
    flat = replace(config, flat_max_vectors=max(config.flat_max_vectors, len(track.ids)))
    return build_index(vectors, list(track.ids), paths.index_dir, "style", track.backend, track.model, flat, extra_meta=made_from)


def index_consistency(paths: DataPaths) -> dict[str, Any]:
    """What the ``faiss_index`` asset check looks at: which built indexes cover other tracks than
    the ``track`` index (``mismatched``), which cannot be read (``unreadable``), whether the style
    index was made from other track vectors (``stale_style``), and how many style vectors are not
    finite unit vectors."""
    from dj_pipeline.embeddings.base import count_not_unit
    from dj_pipeline.index import VectorIndex
    from dj_pipeline.index.style import style_index_is_current

    loaded, unreadable = {}, []
    for name in (*INDEXED_WINDOWS.values(), "style"):
        try:
            loaded[name] = VectorIndex.load(paths.index_dir, name, use_faiss=False)
        except FileNotFoundError:
            continue
        except (RuntimeError, ValueError, OSError):
            unreadable.append(name)
    info: dict[str, Any] = {"indexes": sorted(loaded), "unreadable": unreadable, "tracks": 0, "mismatched": [], "bad_style_vectors": 0}
    info |= {"has_style": "style" in loaded, "stale_style": False}
    if "track" not in loaded:
        return info
    track_ids = set(loaded["track"].ids)
    info["tracks"] = len(track_ids)
    info["mismatched"] = sorted(name for name, index in loaded.items() if set(index.ids) != track_ids)
    if "style" in loaded:
        info["bad_style_vectors"] = count_not_unit(np.asarray(loaded["style"].vectors))
        info["stale_style"] = not style_index_is_current(loaded["style"].meta, loaded["track"].meta)
    return info
