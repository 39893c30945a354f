"""Quality measures for embeddings and approximate indexes (used by tests and bench/)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def neighbour_label_agreement(vectors: np.ndarray, labels: Sequence[str], k: int = 5) -> float:
    """Mean share of each item's ``k`` nearest neighbours (cosine, itself excluded) with its label."""
    x = np.asarray(vectors, dtype=np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    lab = np.asarray(labels)
    if x.shape[0] != lab.shape[0] or x.shape[0] <= k:
        raise ValueError(f"need more than k={k} labelled vectors, got {x.shape[0]} vectors / {lab.shape[0]} labels")
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    nn = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return float((lab[nn] == lab[:, None]).mean())


def random_label_agreement(labels: Sequence[str]) -> float:
    """Expected :func:`neighbour_label_agreement` of random neighbours: mean (n_same - 1) / (n - 1)."""
    lab = np.asarray(labels)
    n = lab.shape[0]
    if n < 2:
        raise ValueError("need at least two labels")
    _, inverse, counts = np.unique(lab, return_inverse=True, return_counts=True)
    return float(((counts[inverse] - 1) / (n - 1)).mean())


def recall_at_k(approx_ids: Sequence[Sequence[str]], exact_ids: Sequence[Sequence[str]], k: int) -> float:
    """Mean share of the exact top-``k`` found in the approximate top-``k``."""
    if len(approx_ids) != len(exact_ids) or not exact_ids:
        raise ValueError("need the same, non-zero number of approximate and exact result rows")
    hits = [len(set(a[:k]) & set(e[:k])) / max(1, min(k, len(e))) for a, e in zip(approx_ids, exact_ids)]
    return float(np.mean(hits))
