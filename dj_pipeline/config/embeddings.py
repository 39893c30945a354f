"""Typed configuration of the embedding backends and vector indexes, loaded from ``embeddings.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge

BACKENDS: tuple[str, ...] = ("dsp", "musicnn", "clap")  # every embedding backend
BACKEND_CHOICES: tuple[str, ...] = ("auto", *BACKENDS)  # what --backend and embeddings.yaml accept


@dataclass(frozen=True)
class PoolConfig:
    weights: dict[str, float] = field(default_factory=lambda: {"main": 2.0, "tail": 1.0})
    fallback: tuple[str, ...] = ("intro", "outro")


@dataclass(frozen=True)
class DspConfig:
    sr: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 48
    fmin: float = 30.0
    fmax: float = 11000.0
    n_mfcc: int = 20
    n_contrast_bands: int = 6
    contrast_fmin: float = 100.0
    tempo_min_bpm: float = 60.0
    tempo_max_bpm: float = 200.0
    n_tempo_bins: int = 16
    min_window_s: float = 0.5
    db_floor: float = -100.0
    group_weights: dict[str, float] = field(default_factory=dict)
    db_scale: float = 20.0
    mfcc_scale: float = 20.0
    min_std: float = 1e-6


@dataclass(frozen=True)
class ClapConfig:
    model: str = "laion/clap-htsat-unfused"
    sr: int = 48000
    chunk_s: float = 10.0
    min_last_chunk_s: float = 2.0
    batch_size: dict[str, int] = field(default_factory=lambda: {"cuda": 64, "mps": 16, "cpu": 8})
    dtype: dict[str, str] = field(default_factory=lambda: {"cuda": "float16", "mps": "float16", "cpu": "float32"})
    cpu_threads: int = 0
    features: str = "torch"


@dataclass(frozen=True)
class MusicnnConfig:
    checkpoint: str = "MSD_musicnn"
    layer: str = "penultimate"
    sr: int = 16000
    n_fft: int = 512
    hop_length: int = 256
    n_mels: int = 96
    log_gain: float = 10000.0
    patch_frames: int = 187
    patch_stride: int = 1
    batch_patches: int = 32
    threads: int = 1


@dataclass(frozen=True)
class HnswConfig:
    m: int = 32
    ef_construction: int = 100
    ef_search: int = 256


@dataclass(frozen=True)
class IvfConfig:
    nlist_per_sqrt_n: float = 2.0
    min_nlist: int = 64
    max_nlist: int = 16384
    nprobe: int = 32
    train_per_list: int = 50
    train_max_vectors: int = 200000
    kmeans_iters: int = 10
    seed: int = 1234


@dataclass(frozen=True)
class StyleConfig:
    neighbors: int = 10
    neighbors_per_sqrt_n: float = 0.5
    alpha: float = 0.9
    iterations: int = 20
    weight_power: float = 1.0
    search_batch: int = 2048


@dataclass(frozen=True)
class IndexConfig:
    flat_max_vectors: int = 20000
    approximate: str = "auto"
    hnsw_max_vectors: int = 300000
    hnsw: HnswConfig = field(default_factory=HnswConfig)
    ivf: IvfConfig = field(default_factory=IvfConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    threads: int = 0


@dataclass(frozen=True)
class EmbeddingsConfig:
    backend: str = "auto"
    device: str = ""
    windows: tuple[str, ...] = ("intro", "outro", "main", "tail_1", "tail_2")
    pool: PoolConfig = field(default_factory=PoolConfig)
    dsp: DspConfig = field(default_factory=DspConfig)
    clap: ClapConfig = field(default_factory=ClapConfig)
    musicnn: MusicnnConfig = field(default_factory=MusicnnConfig)
    index: IndexConfig = field(default_factory=IndexConfig)


def load_embeddings_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> EmbeddingsConfig:
    """Load ``embeddings.yaml`` (or a user copy at ``path``) with optional deep-merged overrides."""
    raw = merge(load_yaml("embeddings", path), overrides)
    raw["windows"] = tuple(raw.get("windows", EmbeddingsConfig.windows))
    pool = dict(raw.get("pool", {}))
    if "fallback" in pool:
        pool["fallback"] = tuple(pool["fallback"])
    raw["pool"] = pool
    cfg = from_dict(EmbeddingsConfig, raw)
    if cfg.backend not in BACKEND_CHOICES:
        raise ValueError(f"embeddings backend must be one of {', '.join(BACKEND_CHOICES)}, got {cfg.backend!r}")
    if cfg.musicnn.patch_stride < 1 or cfg.musicnn.patch_frames < 1 or cfg.musicnn.batch_patches < 1:
        raise ValueError(f"musicnn needs patch_stride, patch_frames and batch_patches >= 1, got {cfg.musicnn}")
    if cfg.clap.features not in ("torch", "processor"):
        raise ValueError(f"clap.features must be torch or processor, got {cfg.clap.features!r}")
    if cfg.index.approximate not in ("auto", "hnsw", "ivf"):
        raise ValueError(f"index.approximate must be auto, hnsw or ivf, got {cfg.index.approximate!r}")
    style = cfg.index.style
    if style.neighbors < 1 or style.neighbors_per_sqrt_n <= 0 or not 0.0 <= style.alpha < 1.0 or style.iterations < 0 or style.weight_power <= 0:
        raise ValueError(f"index.style needs neighbors >= 1, neighbors_per_sqrt_n > 0, 0 <= alpha < 1, iterations >= 0 and weight_power > 0, got {style}")
    return cfg
