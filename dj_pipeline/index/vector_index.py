"""``VectorIndex``: a built index loaded for search (FAISS, with an exact NumPy path)."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from dj_pipeline.config.embeddings import IndexConfig, load_embeddings_config
from dj_pipeline.index.build import set_threads
from dj_pipeline.index.files import index_files, read_meta


def numpy_search(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` inner product: ``(scores [m, k], rows [m, k])``, best first, ties by row."""
    sims = queries @ vectors.T
    k = min(k, vectors.shape[0])
    if k < vectors.shape[0]:
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(vectors.shape[0]), sims.shape).copy()
    top = np.take_along_axis(sims, part, axis=1)
    order = np.lexsort((part, -top), axis=1)
    rows = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(top, order, axis=1).astype(np.float32), rows.astype(np.int64)


class VectorIndex:
    """One named index: ``ids``, ``vectors``, ``backend``, ``model``, ``kind`` and :meth:`search`.

    ``use_faiss=False`` (or FAISS not installed) searches with :func:`numpy_search` instead, which
    is exact and gives the same results as a flat FAISS index.
    """

    def __init__(self, meta: dict[str, Any], ids: list[str], vectors: np.ndarray, faiss_index: Any | None, config: IndexConfig | None = None) -> None:
        self.meta = meta
        self.name: str = meta["name"]
        self.kind: str = meta["kind"]
        self.backend: str = meta["backend"]
        self.model: str = meta["model"]
        self.ids = ids
        self.vectors = vectors
        self.dim = int(vectors.shape[1])
        self.config = config or load_embeddings_config().index
        self._faiss = faiss_index
        self._row = {t: i for i, t in enumerate(ids)}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def load(cls, out_dir: str | os.PathLike, name: str, use_faiss: bool = True, config: IndexConfig | None = None) -> "VectorIndex":
        """Load index ``name`` from ``out_dir``; ``FileNotFoundError`` if it was never built."""
        files = index_files(out_dir, name)
        meta = read_meta(out_dir, name)
        if meta is None:
            raise FileNotFoundError(f"no vector index {name!r} in {out_dir}: build it first (dj ingest)")
        ids = json.loads(files["ids"].read_text(encoding="utf-8"))
        vectors = np.load(files["vectors"], allow_pickle=False)
        if len(ids) != meta["n"] or vectors.shape != (meta["n"], meta["dim"]):
            raise RuntimeError(f"index {name!r} in {out_dir} is inconsistent (rebuilt while loading?); load it again")
        index = None
        if use_faiss:
            index = _load_faiss(files, meta, vectors)
        config = config or load_embeddings_config().index
        set_threads(config)
        return cls(meta, ids, vectors, index, config)

    def row_of(self, item_id: str) -> int | None:
        return self._row.get(item_id)

    def vector(self, item_id: str) -> np.ndarray | None:
        """The stored (index-space) vector of ``item_id``, or ``None``."""
        row = self._row.get(item_id)
        return None if row is None else self.vectors[row]

    def search(self, queries: np.ndarray, k: int, exact: bool = False) -> tuple[np.ndarray, list[list[str]]]:
        """Top-``k`` by inner product: ``(scores [m, k'], ids)`` with ``k' = min(k, n)``, best first.

        ``exact=True`` (or no FAISS index loaded) uses the NumPy path. An approximate index can
        find fewer than ``k'`` neighbours for a query; that row's id list is then shorter and
        its missing scores are ``-inf``.
        """
        scores, rows = self.search_rows(queries, k, exact)
        return scores, [[self.ids[r] for r in row if r >= 0] for row in rows]

    def search_rows(self, queries: np.ndarray, k: int, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` with row numbers of :attr:`ids`: ``(scores [m, k'], rows [m, k'])``,
        row -1 and score ``-inf`` where an approximate index found fewer neighbours."""
        q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32))
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"queries must be [m, {self.dim}] for index {self.name!r} ({self.backend}), got {q.shape}")
        if not np.isfinite(q).all():
            raise ValueError("queries contain NaN or infinite values")
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        k = min(int(k), len(self.ids))
        if exact or self._faiss is None:
            scores, rows = numpy_search(self.vectors, q, k)
        else:
            scores, rows = self._faiss_search(q, k)
        return np.where(rows >= 0, scores, -np.inf).astype(np.float32), np.asarray(rows, dtype=np.int64)

    def _faiss_search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self.kind == "hnsw":
            self._faiss.hnsw.efSearch = max(int(self.config.hnsw.ef_search), k)
        elif self.kind == "ivf":
            self._faiss.nprobe = int(self.config.ivf.nprobe)
        scores, rows = self._faiss.search(q, k)
        return scores, rows


def _load_faiss(files: dict[str, Any], meta: dict[str, Any], vectors: np.ndarray) -> Any | None:
    try:
        import faiss
    except ImportError:
        return None
    if meta["kind"] == "flat":
        index = faiss.IndexFlatIP(int(meta["dim"]))
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return index
    return faiss.read_index(str(files["faiss"]))
