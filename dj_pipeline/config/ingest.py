"""Typed configuration of library scanning, ingest batching and the execution backend, from ``ingest.yaml``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dj_pipeline.config import from_dict, load_yaml, merge

EXECUTORS = ("local", "ray")
# Environment overrides, so `dj ingest` and `dagster dev` can be pointed at a cluster without a file.
CONFIG_ENV = "DJ_INGEST_CONFIG"  # path of a user's ingest.yaml (replaces the packaged one)
EXECUTOR_ENV = "DJ_EXECUTOR"  # local | ray
RAY_ADDRESS_ENV = "DJ_RAY_ADDRESS"  # auto | <head ip>:6379 | ray://<head>:10001 | "" (start Ray here)
PARQUET_URI_ENV = "DJ_PARQUET_URI"  # where the Parquet tables live: "" (<data>/parquet), a path, file://, s3://, gs://


@dataclass(frozen=True)
class RayConfig:
    """Where the Ray cluster is and what each piece of per-track work asks of it (``executor: ray``)."""

    address: str = "auto"
    namespace: str = "dj_pipeline"
    num_cpus_per_track: float = 1.0
    max_task_retries: int = 3
    embed_tracks_per_call: int = 4
    embed_cpus_per_actor: float = 1.0
    embed_gpus_per_actor: float = 1.0
    max_embed_actors: int = 0
    max_actor_replacements: int = 8

    def __post_init__(self) -> None:
        if self.num_cpus_per_track <= 0 or self.embed_cpus_per_actor <= 0 or self.embed_gpus_per_actor <= 0:
            raise ValueError("ray: num_cpus_per_track, embed_cpus_per_actor and embed_gpus_per_actor must be > 0")
        if self.max_task_retries < 0 or self.max_embed_actors < 0 or self.max_actor_replacements < 0:
            raise ValueError("ray: max_task_retries, max_embed_actors and max_actor_replacements must be >= 0")
        if self.embed_tracks_per_call < 1:
            raise ValueError("ray: embed_tracks_per_call must be >= 1")


@dataclass(frozen=True)
class IngestConfig:
    max_batch_size: int = 500
    min_duration_s: float = 5.0
    silence_peak_dbfs: float = -60.0
    hash_chunk_bytes: int = 65536
    hash_threads: int = 2
    scan_schedule_cron: str = "*/30 * * * *"
    sensor_interval_s: int = 60
    workers: int = 0
    min_tracks_per_worker: int = 4
    decode_cache_mb: float = 4096.0
    max_transient_retries: int = 3
    delete_missing_after_days: float | None = 30.0
    executor: str = "local"
    parquet_uri: str = ""
    ray: RayConfig = field(default_factory=RayConfig)

    def __post_init__(self) -> None:
        if self.hash_threads < 1:
            raise ValueError("hash_threads must be >= 1")
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {self.executor!r}")


def env_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``executor`` / ``ray.address`` / ``parquet_uri`` from ``$DJ_EXECUTOR`` / ``$DJ_RAY_ADDRESS`` /
    ``$DJ_PARQUET_URI`` when they are set."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if env.get(EXECUTOR_ENV):
        out["executor"] = env[EXECUTOR_ENV].strip().lower()
    if RAY_ADDRESS_ENV in env:
        out["ray"] = {"address": env[RAY_ADDRESS_ENV].strip()}
    if PARQUET_URI_ENV in env:
        out["parquet_uri"] = env[PARQUET_URI_ENV].strip()
    return out


def load_ingest_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> IngestConfig:
    """``ingest.yaml`` (or ``path``, or ``$DJ_INGEST_CONFIG``), then the environment, then ``overrides``."""
    path = path if path is not None else os.environ.get(CONFIG_ENV) or None
    return from_dict(IngestConfig, merge(merge(load_yaml("ingest", path), env_overrides()), overrides))
