"""Build a :class:`RecommendationEngine` from a data directory's materialized assets.

Reads ``track_features``, ``tracks`` and ``feature_stats`` (current rows, via
:func:`dj_pipeline.storage.read_asset`), the ``intro`` / ``outro`` / ``track`` / ``style`` vector
indexes (a data dir built before the style index existed gets its style vectors computed here), and
the trained TransitionRanker when its model file exists.
"""

from __future__ import annotations

import logging
import os
from dataclasses import fields
from typing import Any

import numpy as np

from dj_pipeline.config import from_dict
from dj_pipeline.config.embeddings import StyleConfig
from dj_pipeline.config.recommend import RecommendConfig, load_recommend_config
from dj_pipeline.recommend.engine import RecommendationEngine
from dj_pipeline.recommend.errors import EmptyLibraryError
from dj_pipeline.recommend.models import TransitionRanker
from dj_pipeline.recommend.vectors import VectorTable
from dj_pipeline.storage import DataPaths, read_asset
from dj_pipeline.structure.mix import with_mix_points
from dj_pipeline.storage.tables import read_catalog

log = logging.getLogger(__name__)

INDEX_NAMES: tuple[str, ...] = ("intro", "outro", "track", "style")
LOOKUP_ONLY: frozenset[str] = frozenset({"outro", "style"})  # read by id, never searched


def load_index(paths: DataPaths, name: str) -> Any | None:
    """The named vector index, or ``None`` when it has not been built yet."""
    from dj_pipeline.index import VectorIndex

    try:
        return VectorIndex.load(paths.index_dir, name, use_faiss=name not in LOOKUP_ONLY)
    except FileNotFoundError:
        return None


def ranker_path(paths: DataPaths, config: RecommendConfig) -> os.PathLike:
    return paths.models_dir / config.ranker.file


def load_ranker(paths: DataPaths, config: RecommendConfig) -> TransitionRanker | None:
    """The trained TransitionRanker, or ``None`` when no model file exists."""
    p = ranker_path(paths, config)
    return TransitionRanker.load(p, config.ranker) if os.path.exists(p) else None


def style_config_of(index: Any | None) -> StyleConfig | None:
    """The settings a built style index was made with (``None``: not built, use the config).
    Settings this version does not know are left out rather than refused."""
    params = getattr(index, "meta", {}).get("style_params") if index is not None else None
    if not params:
        return None
    known = {f.name for f in fields(StyleConfig)}
    return from_dict(StyleConfig, {k: v for k, v in params.items() if k in known})


def current_style_index(indexes: dict[str, Any]) -> Any | None:
    """The loaded style index when it was made from the loaded track index, else ``None`` (the
    engine then diffuses the track vectors itself, and a warning says to re-ingest)."""
    from dj_pipeline.index.style import style_index_is_current

    style, track = indexes.get("style"), indexes.get("track")
    if track is None:
        return None
    if style is not None and style_index_is_current(style.meta, track.meta):
        return style
    log.warning(
        "style index %s: computing the style vectors while loading (%d tracks); run `dj ingest` to store them",
        "missing" if style is None else "made from other track vectors", len(track.ids),
    )  # fmt: skip
    return None


def load_engine(data_dir: str | os.PathLike | DataPaths | None = None, config: RecommendConfig | None = None, use_ranker: bool = True) -> RecommendationEngine:
    """The engine over the current library of ``data_dir`` (EmptyLibraryError before an ingest)."""
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    config = config or load_recommend_config()
    catalog = read_catalog(paths)  # read once, shared by every table below
    features = read_asset(paths, "track_features", catalog=catalog)
    features = with_mix_points(features, read_asset(paths, "track_cues", catalog=catalog))  # where to mix, and the mix_length term (issue 16)
    if features.empty:
        raise EmptyLibraryError(f"no analysed tracks in {paths.root}: run `dj ingest --library DIR` first")
    indexes = {name: load_index(paths, name) for name in INDEX_NAMES}
    indexes["style"] = current_style_index(indexes)
    intro = indexes["intro"]
    if intro is None or len(intro.ids) == 0:
        raise EmptyLibraryError(f"no vector index in {paths.index_dir}: run `dj ingest --library DIR` first")
    empty = VectorTable([], np.zeros((0, np.asarray(intro.vectors).shape[1]), dtype=np.float32))
    stats = read_asset(paths, "feature_stats")
    return RecommendationEngine(
        features,
        intro,
        indexes["outro"] if indexes["outro"] is not None else empty,
        indexes["track"] if indexes["track"] is not None else empty,
        config,
        style_vectors=indexes["style"],
        style_config=style_config_of(indexes["style"]),
        tracks=read_asset(paths, "tracks", catalog=catalog),
        stats_table=stats if {"column_name", "mean", "std"} <= set(stats.columns) else None,
        ranker=load_ranker(paths, config) if use_ranker else None,
        index_dir=paths.index_dir,
    )
