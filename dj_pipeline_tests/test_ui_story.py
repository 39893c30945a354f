"""The Dagster UI tells the story (issue 15 item 7): a named job per ingest step, no false "Unsynced"
after a no-op ingest, numbers the asset page can plot, previews that name tracks; and the ingest's
closing summary line (item 1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from dagster import AssetKey, DagsterInstance

from dj_pipeline.assets.metadata import content_version, named_rows
from dj_pipeline.definitions import defs
from dj_pipeline.jobs import BATCH_JOB, LIBRARY_JOB, SCAN_JOB, step_job_name


def test_code_location_has_a_job_per_step() -> None:
    jobs = {j.name: j for j in defs.resolve_all_job_defs()}
    assert {SCAN_JOB, BATCH_JOB, LIBRARY_JOB} <= set(jobs)
    batch_keys = {k.to_user_string() for k in jobs[BATCH_JOB].asset_layer.executable_asset_keys}
    library_keys = {k.to_user_string() for k in jobs[LIBRARY_JOB].asset_layer.executable_asset_keys}
    assert {"track_windows", "track_features", "track_embeddings"} <= batch_keys
    assert {"feature_stats", "faiss_index", "duckdb_catalog"} <= library_keys and "track_catalog" not in library_keys
    assert step_job_name(["track_catalog"], None) == SCAN_JOB
    assert step_job_name(["track_windows"], "b1") == BATCH_JOB and step_job_name(["duckdb_catalog"], None) == LIBRARY_JOB


def test_content_version_ignores_order_and_scan_times() -> None:
    a = pd.DataFrame({"track_id": ["x", "y"], "mtime": [1.0, 2.0], "scanned_at": [10, 11]})
    b = pd.DataFrame({"track_id": ["y", "x"], "mtime": [2.0, 1.0], "scanned_at": [20, 21]})
    edited = b.assign(mtime=[2.0, 3.0])
    assert content_version(a) == content_version(b) != content_version(edited)


def test_previews_name_tracks() -> None:
    rows = pd.DataFrame({"track_id": ["x"], "bpm": [124.0]})
    tracks = pd.DataFrame({"track_id": ["x"], "artist": ["Rhea"], "title": ["Winter Pulse"]})
    assert list(named_rows(rows, tracks).columns) == ["artist", "title", "track_id", "bpm"]


def test_noop_ingest_leaves_the_library_synced_and_runs_are_named(ingested: Path, small_library: Path, tmp_path: Path) -> None:
    from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus  # what the UI's "Unsynced" shows
    from dagster._core.loader import LoadingContextForTest

    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.progress import ingest_summary

    data = tmp_path / "data"
    shutil.copytree(ingested, data)
    report = run_ingest(small_library / "tracks", data, samples_dir=small_library / "samples", embedding_backend="dsp",
                        show_progress=False, echo=lambda s: None)  # fmt: skip
    assert report.batches_processed == [] and not report.library_refreshed
    line = ingest_summary(data, report, 12.5)
    assert line.startswith("ingest done in 12.5 s: 0 new, 0 changed, 0 failed;") and "library assets unchanged" in line

    os.environ["DAGSTER_HOME"] = str(data / "dagster_home")
    instance = DagsterInstance.get()
    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    for name in ("duckdb_catalog", "faiss_index", "feature_stats"):
        assert resolver.get_status(AssetKey(name)) == StaleStatus.FRESH, name
    assert {SCAN_JOB, BATCH_JOB, LIBRARY_JOB} <= {r.job_name for r in instance.get_runs()}
    event = instance.get_latest_materialization_event(AssetKey("track_features"))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    assert isinstance(metadata["x_real_time"].value, float) and metadata["x_real_time"].value > 0
    preview = metadata["preview"].value
    assert preview.schema.columns[0].name == "artist"


@pytest.fixture(autouse=True)
def _restore_dagster_home():
    before = os.environ.get("DAGSTER_HOME")
    yield
    if before is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = before
