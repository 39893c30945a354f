"""The engine's view of vector indexes: anything with ``ids``, ``vectors`` and ``search``.

The pipeline's FAISS ``VectorIndex`` has that shape; :class:`ArrayIndex` is an exact NumPy
inner-product index with the same shape for small or in-memory libraries (and for tests), and
:class:`VectorTable` is the id -> vector lookup the engine uses for outro and track vectors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np


class SearchableIndex(Protocol):
    """What the engine needs from an index (``dj_pipeline.index.VectorIndex`` conforms)."""

    ids: Sequence[str]
    vectors: np.ndarray

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, Any]: ...


class VectorTable:
    """Track id -> vector lookup over an (n, d) float32 matrix."""

    def __init__(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        ids = [str(i) for i in ids]
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(f"vectors must be (n, d) with n = {len(ids)} ids, got shape {vectors.shape}")
        self.ids = ids
        self.vectors = vectors
        self._row = {t: i for i, t in enumerate(ids)}

    @classmethod
    def from_any(cls, source: Any) -> "VectorTable":
        """From a ``VectorTable``, an object with ``ids`` and ``vectors``, or a ``{id: vector}`` map."""
        if isinstance(source, VectorTable):
            return source
        if isinstance(source, Mapping):
            ids = list(source)
            dim = len(next(iter(source.values()))) if ids else 0
            return cls(ids, np.stack([np.asarray(source[i], dtype=np.float32) for i in ids]) if ids else np.zeros((0, dim)))
        return cls(list(source.ids), np.asarray(source.vectors))

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self._row

    def row(self, track_id: str) -> int:
        """Row of ``track_id`` in :attr:`vectors` (KeyError when absent)."""
        return self._row[track_id]

    def get(self, track_id: str) -> np.ndarray | None:
        """The vector of ``track_id`` or ``None``."""
        row = self._row.get(track_id)
        return None if row is None else self.vectors[row]

    def take(self, track_ids: Sequence[str]) -> np.ndarray:
        """Vectors of ``track_ids`` as an (n, d) array; a missing id gives a row of NaN."""
        out = np.full((len(track_ids), self.dim), np.nan, dtype=np.float64)
        for i, t in enumerate(track_ids):
            row = self._row.get(t)
            if row is not None:
                out[i] = self.vectors[row]
        return out


class ArrayIndex(VectorTable):
    """Exact inner-product search over prepared (e.g. L2-normalised) vectors, in NumPy."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str]]]:
        """Top-``k`` ids by inner product for each query row, best first."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k = max(0, min(int(k), len(self.ids)))
        if k == 0:
            return np.zeros((len(q), 0), dtype=np.float32), [[] for _ in q]
        scores = q @ self.vectors.T
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(np.arange(scores.shape[1]), (len(q), 1))
        part_scores = np.take_along_axis(scores, part, axis=1)
        top = np.take_along_axis(part, np.argsort(-part_scores, axis=1, kind="stable"), axis=1)
        return np.take_along_axis(scores, top, axis=1), [[self.ids[j] for j in row] for row in top]
