"""Library standardisation of stored vectors, applied identically to index and query vectors.

The per-batch asset stores each window's vector as the embedder produced it (deterministic, L2-
normalised, independent of the rest of the library). When the index is built, library statistics
are fitted over all current vectors and saved beside the index; both the index vectors and every
query vector pass through the same :func:`prepare_vectors`, so they live in one space:

- ``dsp``: :class:`DspStandardizer` z-scores each dimension with the library mean/std, weights each
  feature group by ``weight / sqrt(group dims)`` (so large groups do not drown small ones), then
  L2-normalises. Without it, dimensions with a large spread (spectral shape) would dominate cosine
  similarity whatever their musical relevance.
- ``clap``: :class:`IdentityStandardizer`; CLAP's space is already learned, vectors are only
  re-normalised.

Usage::

    std = fit_library_standardizer(raw_vectors, backend)   # at index build
    std.save(index_dir)
    q = prepare_vectors(raw_query, backend, index_dir)       # at query time (loads the same stats)
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dj_pipeline.config.embeddings import DspConfig, EmbeddingsConfig, load_embeddings_config
from dj_pipeline.embeddings.base import l2_normalize
from dj_pipeline.embeddings.dsp import dsp_layout

STATS_FILE = "standardizer.npz"


class IdentityStandardizer:
    """Pass-through for learned spaces (CLAP): only L2-normalises."""

    kind = "identity"

    def __init__(self, backend: str = "clap", dim: int | None = None) -> None:
        self.backend = backend
        self.dim = dim

    def fit(self, raw: np.ndarray) -> "IdentityStandardizer":
        raw = _as_matrix(raw)
        self.dim = int(raw.shape[1])
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        raw = _as_matrix(raw)
        _check_dim(raw, self.dim)
        return l2_normalize(raw)

    def save(self, directory: str | os.PathLike) -> Path:
        return _save(directory, {"kind": self.kind, "backend": self.backend, "dim": -1 if self.dim is None else self.dim}, {})


class DspStandardizer:
    """Per-dimension z-score with library statistics, group weights, then L2 normalisation."""

    kind = "zscore"

    def __init__(self, weights: np.ndarray | None = None, min_std: float = 1e-6, backend: str = "dsp") -> None:
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)
        self.min_std = float(min_std)
        self.backend = backend
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    @property
    def dim(self) -> int | None:
        return None if self.mean is None else int(self.mean.shape[0])

    def fit(self, raw: np.ndarray) -> "DspStandardizer":
        """Library mean and std per dimension; needs at least one vector."""
        raw = _as_matrix(raw).astype(np.float64)
        if raw.shape[0] == 0:
            raise ValueError("cannot fit library statistics on zero vectors")
        if self.weights is not None and self.weights.shape[0] != raw.shape[1]:
            raise ValueError(f"group weights have {self.weights.shape[0]} dims, vectors {raw.shape[1]}")
        self.mean = raw.mean(axis=0).astype(np.float32)
        std = raw.std(axis=0)
        self.std = np.where(std < self.min_std, 1.0, std).astype(np.float32)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Standardised, weighted, L2-normalised float32 rows."""
        if self.mean is None or self.std is None:
            raise RuntimeError("DspStandardizer.transform before fit/load")
        raw = _as_matrix(raw)
        _check_dim(raw, self.dim)
        z = (raw - self.mean) / self.std
        if self.weights is not None:
            z = z * self.weights
        return l2_normalize(z)

    def save(self, directory: str | os.PathLike) -> Path:
        if self.mean is None or self.std is None:
            raise RuntimeError("DspStandardizer.save before fit")
        arrays = {"mean": self.mean, "std": self.std}
        if self.weights is not None:
            arrays["weights"] = self.weights
        return _save(directory, {"kind": self.kind, "backend": self.backend, "dim": self.dim, "min_std": self.min_std}, arrays)


Standardizer = IdentityStandardizer | DspStandardizer


def dsp_group_weights(config: DspConfig, dim: int) -> np.ndarray | None:
    """Per-dimension weights ``w_group / sqrt(n_group)`` for the dsp layout; ``None`` if ``dim`` differs."""
    layout = dsp_layout(config)
    if sum(n for _, n in layout) != dim:
        return None
    return np.concatenate([np.full(n, config.group_weights.get(g, 1.0) / np.sqrt(n), dtype=np.float32) for g, n in layout])


def fit_library_standardizer(raw: np.ndarray, backend: str, config: EmbeddingsConfig | None = None) -> Standardizer:
    """The standardiser for ``backend`` fitted on the library's raw vectors (``[n, d]``)."""
    raw = _as_matrix(raw)
    if backend == "dsp":
        config = config or load_embeddings_config()
        weights = dsp_group_weights(config.dsp, int(raw.shape[1]))
        return DspStandardizer(weights, config.dsp.min_std).fit(raw)
    if backend == "musicnn":
        config = config or load_embeddings_config()
        return DspStandardizer(None, config.dsp.min_std, backend="musicnn").fit(raw)
    if backend == "clap":
        return IdentityStandardizer("clap").fit(raw)
    raise ValueError(f"unknown embedding backend {backend!r} (expected dsp, musicnn or clap)")


def load_standardizer(path: str | os.PathLike) -> Standardizer:
    """Load a saved standardiser from its file or from the directory that holds ``standardizer.npz``."""
    p = Path(path)
    if p.is_dir():
        p = p / STATS_FILE
    if not p.exists():
        raise FileNotFoundError(f"no library statistics at {p}: build the index first")
    with np.load(p, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta["kind"] == "identity":
            return IdentityStandardizer(meta["backend"], None if meta["dim"] < 0 else int(meta["dim"]))
        std = DspStandardizer(data["weights"] if "weights" in data else None, meta["min_std"], meta["backend"])
        std.mean, std.std = data["mean"].astype(np.float32), data["std"].astype(np.float32)
        return std


def prepare_vectors(raw: np.ndarray, backend: str, stats: Standardizer | str | os.PathLike | None) -> np.ndarray:
    """Map stored (raw) vectors into the index space: the one helper index builds and queries share.

    ``stats`` is a fitted standardiser or the path of a saved one (file or index directory). For
    ``clap`` it may be ``None`` (identity). A standardiser saved for another backend is refused, so
    query vectors never land in a space built for a different embedder.
    """
    if stats is None:
        if backend != "clap":
            raise ValueError(f"backend {backend!r} needs library statistics (the index directory's {STATS_FILE})")
        return IdentityStandardizer("clap").transform(raw)
    std = stats if isinstance(stats, (IdentityStandardizer, DspStandardizer)) else load_standardizer(stats)
    if std.backend != backend:
        raise ValueError(f"library statistics are for backend {std.backend!r}, vectors are {backend!r}")
    return std.transform(raw)


# --------------------------------------------------------------------------------------------
def _as_matrix(raw: np.ndarray) -> np.ndarray:
    x = np.asarray(raw, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"expected vectors of shape [n, d], got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("vectors contain NaN or infinite values")
    return x


def _check_dim(x: np.ndarray, dim: int | None) -> None:
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"vectors have {x.shape[1]} dims, the library statistics {dim}")


def _save(directory: str | os.PathLike, meta: dict, arrays: dict[str, np.ndarray]) -> Path:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    final = d / STATS_FILE
    tmp = d / f".{STATS_FILE}.{os.getpid()}.tmp.npz"
    np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, final)
    return final
