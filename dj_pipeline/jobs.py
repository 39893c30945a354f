"""Named jobs, one per ingest step, so the Dagster UI's runs list reads like the ingest did.

``catalog_scan`` (the library scan), ``batch_analysis`` (the per-batch assets of one ingest batch:
windows, features, embeddings, ...) and ``library_refresh`` (statistics, roles, index, models,
the DuckDB catalog). They are in the code location for the UI's launchpad, and ``dj ingest`` runs
its steps under the same names (:func:`materialize_named`) instead of Dagster's anonymous
``__ephemeral_asset_job__``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetsDefinition, AssetSelection, Definitions, define_asset_job

SCAN_JOB = "catalog_scan"
BATCH_JOB = "batch_analysis"
LIBRARY_JOB = "library_refresh"
SCAN_ASSET = "track_catalog"
JOB_DESCRIPTIONS = {
    BATCH_JOB: "Analyse one ingest batch: windows, features, embeddings (and the opt-in per-track assets). Pick the batch as the partition.",
    LIBRARY_JOB: "Refresh the library-wide assets after batches changed: statistics, drum roles, vector index, models, dj.duckdb.",
}


def step_job_name(asset_names: Sequence[str], partition_key: str | None) -> str:
    """The job name of one ingest step: the scan, a batch (partitioned), or the library refresh."""
    if list(asset_names) == [SCAN_ASSET]:
        return SCAN_JOB
    return BATCH_JOB if partition_key is not None else LIBRARY_JOB


def step_jobs(assets: Sequence[Any]) -> list[Any]:
    """``batch_analysis`` and ``library_refresh`` over the loaded assets (the scan job is in automation)."""
    defs = [a for a in assets if isinstance(a, AssetsDefinition)]
    batch = [k for a in defs if a.partitions_def is not None for k in a.keys]
    library = [k for a in defs if a.partitions_def is None for k in a.keys if k.to_user_string() != SCAN_ASSET]
    partitions = next((a.partitions_def for a in defs if a.partitions_def is not None), None)
    return [
        define_asset_job(BATCH_JOB, selection=AssetSelection.assets(*batch), partitions_def=partitions, description=JOB_DESCRIPTIONS[BATCH_JOB]),
        define_asset_job(LIBRARY_JOB, selection=AssetSelection.assets(*library), description=JOB_DESCRIPTIONS[LIBRARY_JOB]),
    ]


def materialize_named(
    job_name: str,
    assets: Sequence[Any],
    instance: Any,
    resources: Mapping[str, object],
    run_config: Mapping[str, Any] | None = None,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    raise_on_error: bool = True,
) -> Any:
    """:func:`dagster.materialize`, but the run carries ``job_name`` (what the runs list shows)."""
    defs = Definitions(jobs=[define_asset_job(name=job_name)], assets=assets, resources=resources)
    job = defs.resolve_job_def(job_name)
    return job.execute_in_process(
        run_config=run_config, instance=instance, partition_key=partition_key, raise_on_error=raise_on_error, tags=tags
    )
