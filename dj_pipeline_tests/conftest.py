"""Shared fixtures: a small generated demo library ingested once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DEVSET = Path(__file__).resolve().parents[1].parent / "shared" / "devset"

# Small and short, so the whole pipeline runs in seconds; the benchmarks use the full-size library.
SMALL_LIBRARY = {"n_tracks": 6, "n_samples": 10, "seed": 7, "duration_scale": 0.5}


@pytest.fixture(scope="session")
def small_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated demo library (tracks/, samples/, truth.csv), written once per session."""
    from dj_pipeline.demo import generate_library

    out = tmp_path_factory.mktemp("demo_library")
    generate_library(out, **SMALL_LIBRARY)
    return out


@pytest.fixture(scope="session")
def ingested(small_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory after one full ``run_ingest`` of ``small_library`` (dsp embedder)."""
    from dj_pipeline.pipeline import run_ingest

    data = tmp_path_factory.mktemp("data")
    os.environ.setdefault("DAGSTER_HOME", str(data / "dagster_home"))
    run_ingest(small_library / "tracks", data, samples_dir=small_library / "samples", embedding_backend="dsp", show_progress=False, echo=lambda s: None)
    return data


@pytest.fixture()
def devset() -> Path:
    if not SHARED_DEVSET.is_dir():
        pytest.skip("../shared/devset is not available")
    return SHARED_DEVSET
