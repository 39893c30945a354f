"""Dagster resources: where the library, samples and data live, and run-wide options."""

from __future__ import annotations

import os

from dagster import ConfigurableResource, DynamicPartitionsDefinition
from pydantic import Field

from dj_pipeline.storage import DataPaths

# One partition per ingest batch (<= ~500 tracks), see DESIGN.md "Why batches".
INGEST_BATCHES = DynamicPartitionsDefinition(name="ingest_batches")


class DJSettings(ConfigurableResource):
    """Locations and options shared by every asset (set in the UI's launchpad, the CLI or env vars)."""

    library_dir: str = Field(description="Folder of audio tracks to ingest ($DJ_LIBRARY_DIR).")
    data_dir: str = Field(description="Data directory for Parquet, DuckDB, indexes, models ($DJ_DATA_DIR).")
    samples_dir: str = Field(default="", description="Folder of drum one-shots for role pools ($DJ_SAMPLES_DIR); empty: none.")
    sampling_profile: str = Field(default="", description="Window sampling profile (windows.yaml); empty: the default.")
    embedding_backend: str = Field(default="auto", description="auto | dsp | musicnn | clap")
    embedding_model: str = Field(default="", description="CLAP model id or local directory; empty: the configured default.")
    device: str = Field(default="", description="Torch device for CLAP (cuda, mps, cpu); empty: auto.")
    show_progress: bool = Field(default=False, description="Print progress bars to stderr (the CLI turns this on).")
    retry_errors: bool = Field(default=False, description="Retry every file in ingest_errors, content errors included.")
    force_paths: list[str] | None = Field(default=None, description="Analyse these files/folders again; empty list: all.")
    allow_deletions: bool = Field(default=False, description="Drop missing tracks (and accept an empty library or vanished folder).")

    @property
    def paths(self) -> DataPaths:
        return DataPaths(self.data_dir).ensure()


def settings_from_env(**overrides: object) -> DJSettings:
    """Settings from ``DJ_LIBRARY_DIR``, ``DJ_DATA_DIR``, ``DJ_SAMPLES_DIR`` (defaults: ./data/...)."""
    data_dir = os.environ.get("DJ_DATA_DIR", "data")
    values: dict[str, object] = {
        "library_dir": os.environ.get("DJ_LIBRARY_DIR", os.path.join(data_dir, "demo_library", "tracks")),
        "data_dir": data_dir,
        "samples_dir": os.environ.get("DJ_SAMPLES_DIR", ""),
        "embedding_backend": os.environ.get("DJ_EMBEDDING_BACKEND", "auto"),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DJSettings(**values)  # type: ignore[arg-type]
