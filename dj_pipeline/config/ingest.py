"""Typed configuration of library scanning and ingest batching, loaded from ``ingest.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge


@dataclass(frozen=True)
class IngestConfig:
    max_batch_size: int = 500
    min_duration_s: float = 5.0
    silence_peak_dbfs: float = -60.0
    hash_chunk_bytes: int = 65536
    scan_schedule_cron: str = "*/30 * * * *"
    sensor_interval_s: int = 60
    workers: int = 0
    min_tracks_per_worker: int = 4


def load_ingest_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> IngestConfig:
    return from_dict(IngestConfig, merge(load_yaml("ingest", path), overrides))
