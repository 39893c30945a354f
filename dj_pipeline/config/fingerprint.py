"""Typed configuration of the audio fingerprints, loaded from ``fingerprint.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class FingerprintConfig:
    sr: int = 11025
    n_fft: int = 1024
    hop_length: int = 256
    peak_neighborhood: tuple[int, int] = (31, 21)
    peaks_per_s: float = 8.0
    floor_db: float = 60.0
    min_peak_db: float = -100.0
    fan_out: int = 3
    max_dt_frames: int = 63
    max_df_bins: int = 63
    offset_tolerance_frames: int = 1
    min_aligned: int = 20
    min_aligned_share: float = 0.2
    max_hits_per_hash: int = 200

    @property
    def frame_s(self) -> float:
        return self.hop_length / self.sr


def load_fingerprint_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> FingerprintConfig:
    """Load ``fingerprint.yaml`` (or a user copy at ``path``) with optional overrides."""
    raw = merge(load_yaml("fingerprint", path), overrides)
    raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    cfg = from_dict(FingerprintConfig, raw)
    if not (0 < cfg.max_dt_frames < 64 and 0 < cfg.max_df_bins < 64 and cfg.n_fft // 2 <= 1024):
        raise ValueError("fingerprint: max_dt_frames and max_df_bins must be 1..63 and n_fft at most 2048 (hash layout)")
    if cfg.max_hits_per_hash < 1:
        raise ValueError("fingerprint: max_hits_per_hash must be at least 1")
    return cfg
