"""What every embedding backend shares: the info record, input checks and L2 normalisation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from dj_pipeline.audio import resample

# Windows the pipeline embeds per track (the lead's window sampler names them so).
EMBEDDING_WINDOWS: tuple[str, ...] = ("intro", "outro", "main", "tail_1", "tail_2")


class EmbeddingError(ValueError):
    """Input an embedder cannot use (empty or non-finite audio, wrong shape); the message says why."""


class BackendUnavailableError(RuntimeError):
    """A backend was asked for but cannot run here (e.g. CLAP weights not on disk)."""


@dataclass(frozen=True)
class EmbedderInfo:
    """Identity of an embedder, stored with every vector so indexes never mix backends."""

    backend: str  # "dsp" | "clap"
    model: str  # model id / directory for clap; "dsp-v1:<config hash>" for dsp
    dim: int
    sr: int  # sample rate the embedder wants its input at
    device: str = "cpu"


@runtime_checkable
class Embedder(Protocol):
    """``embed(windows, sr) -> float32 [n, dim]``, rows L2-normalised."""

    backend: str
    model: str
    dim: int
    sr: int

    @property
    def info(self) -> EmbedderInfo: ...

    def embed(self, windows: Sequence[np.ndarray], sr: int) -> np.ndarray: ...


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Rows of ``x`` scaled to unit L2 norm (float32); all-zero rows stay zero instead of NaN."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        return l2_normalize(x[None, :], eps)[0]
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, eps)).astype(np.float32)


UNIT_NORM_TOLERANCE = 1e-3  # |norm - 1| allowed for a vector stored as unit length (float32 round trips)


def count_not_unit(x: np.ndarray, tolerance: float = UNIT_NORM_TOLERANCE) -> int:
    """Rows of ``x`` that are not finite unit vectors (data-quality checks)."""
    norms = np.linalg.norm(np.asarray(x, dtype=np.float64), axis=1)
    return int((~np.isfinite(norms) | (np.abs(norms - 1.0) > tolerance)).sum())


def prepare_windows(windows: Sequence[np.ndarray], sr: int, target_sr: int) -> list[np.ndarray]:
    """Validate mono windows and resample them to ``target_sr``.

    Raises :class:`EmbeddingError` for a window that is not 1-D, is empty, or holds NaN/inf, so
    the caller records a readable reason instead of storing a NaN vector.
    """
    if isinstance(windows, np.ndarray) and windows.ndim == 1:
        raise EmbeddingError("embed() takes a list of 1-D windows, not a single array")
    if int(sr) <= 0:
        raise EmbeddingError(f"sample rate must be positive, got {sr}")
    out: list[np.ndarray] = []
    for i, w in enumerate(windows):
        y = np.asarray(w, dtype=np.float32)
        if y.ndim != 1:
            raise EmbeddingError(f"window {i}: expected mono 1-D audio, got shape {y.shape}")
        if y.size == 0:
            raise EmbeddingError(f"window {i}: empty audio")
        if not np.isfinite(y).all():
            raise EmbeddingError(f"window {i}: audio contains NaN or infinite samples")
        if int(sr) != int(target_sr):
            y = resample(y, int(sr), int(target_sr)).astype(np.float32, copy=False)
        out.append(y)
    return out
