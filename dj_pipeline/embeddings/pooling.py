"""The track-level vector: a weighted mean of the main and tail window vectors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dj_pipeline.config.embeddings import PoolConfig, load_embeddings_config
from dj_pipeline.embeddings.base import EmbeddingError, l2_normalize


def window_pool_weight(name: str, config: PoolConfig) -> float:
    """Weight of window ``name`` in the track vector: by exact name, else by prefix (``tail_2`` -> ``tail``)."""
    if name in config.weights:
        return float(config.weights[name])
    prefix = name.split("_", 1)[0]
    return float(config.weights.get(prefix, 0.0))


def pool_track_vector(vectors: Mapping[str, np.ndarray], config: PoolConfig | None = None) -> np.ndarray:
    """L2-normalised weighted mean of the ``main`` and ``tail_*`` vectors (weights in ``embeddings.yaml``).

    The intro and outro are left out on purpose: they describe how a track starts and ends (what the
    outro->intro search is for), not what it is. A track too short to have a main or tail window
    falls back to its intro/outro vectors, so every embedded track gets a track vector.
    """
    config = config or load_embeddings_config().pool
    picked = {n: w for n in vectors if (w := window_pool_weight(n, config)) > 0}
    if not picked:
        picked = {n: 1.0 for n in config.fallback if n in vectors}
    if not picked:
        raise EmbeddingError(f"no window to pool a track vector from (got {sorted(vectors)})")
    stack = np.stack([np.asarray(vectors[n], dtype=np.float32) for n in picked])
    if stack.ndim != 2 or not np.isfinite(stack).all():
        raise EmbeddingError("window vectors must be finite 1-D vectors of one size")
    weights = np.array(list(picked.values()), dtype=np.float32)
    pooled = (weights[:, None] * stack).sum(axis=0) / weights.sum()
    return l2_normalize(pooled)
