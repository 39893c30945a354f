"""The Dagster code location: asset graph, groups, descriptions, automation, sensor and schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from dagster import RunRequest, SkipReason, build_sensor_context

from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.automation import library_change_sensor
from dj_pipeline.definitions import defs

EXPECTED_GROUPS = {
    "track_catalog": "catalog",
    "track_windows": "tracks",
    "track_features": "tracks",
    "track_embeddings": "tracks",
    "feature_stats": "library",
    "faiss_index": "library",
    "duckdb_catalog": "library",
    "sample_catalog": "roles",
    "sample_roles": "roles",
    "role_pools": "roles",
    "similarity_model": "models",
    "transition_ranker": "models",
}


def test_asset_graph_has_groups_descriptions_and_partitions() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string(): k for k in graph.get_all_asset_keys()}
    assert set(EXPECTED_GROUPS) <= set(keys)
    for name, group in EXPECTED_GROUPS.items():
        node = graph.get(keys[name])
        assert node.group_name == group, name
        assert node.description and len(node.description) > 40, f"{name} needs a real description"
    for name in ("track_windows", "track_features", "track_embeddings"):
        assert graph.get(keys[name]).partitions_def is not None
    assert graph.get(keys["track_catalog"]).partitions_def is None
    # downstream assets run themselves after new batches (no manual backfill)
    for name in EXPECTED_GROUPS:
        if name not in ("track_catalog", "sample_catalog"):
            assert graph.get(keys[name]).automation_condition is not None, name
    parents = {p.to_user_string() for p in graph.get(keys["duckdb_catalog"]).parent_keys}
    assert {"track_features", "track_embeddings", "faiss_index", "role_pools"} <= parents


def test_schedule_and_sensor_are_defined() -> None:
    schedules = {s.name: s for s in defs.schedules or []}
    sensors = {s.name for s in defs.sensors or []}
    assert schedules["catalog_scan_schedule"].job_name == "catalog_scan"
    assert "library_change_sensor" in sensors


def test_library_sensor_fires_only_on_change(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    settings = DJSettings(library_dir=str(lib), data_dir=str(tmp_path / "data"))
    sf.write(lib / "a.wav", np.zeros(22050 * 6, np.float32), 22050)
    ctx = build_sensor_context(resources={"settings": settings})
    first = library_change_sensor(ctx)
    assert isinstance(first, RunRequest)
    ctx2 = build_sensor_context(cursor=ctx.cursor, resources={"settings": settings})
    assert isinstance(library_change_sensor(ctx2), SkipReason)
    sf.write(lib / "b.wav", np.zeros(22050 * 6, np.float32), 22050)
    ctx3 = build_sensor_context(cursor=ctx.cursor, resources={"settings": settings})
    assert isinstance(library_change_sensor(ctx3), RunRequest)


def test_cli_instance_limits_pools_to_one(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from dj_pipeline.pipeline import dagster_instance
    from dj_pipeline.storage import DataPaths

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    instance = dagster_instance(DataPaths(tmp_path))
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    graph = defs.resolve_asset_graph()
    pools = {k.to_user_string(): graph.get(k).pools for k in graph.get_all_asset_keys()}
    assert pools["duckdb_catalog"] == {"duckdb_writer"} and pools["track_embeddings"] == {"embedding_device"}
