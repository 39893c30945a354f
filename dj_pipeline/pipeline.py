"""Run the whole asset graph in-process, incrementally: what ``dj ingest`` does.

Same assets, same Dagster instance (``<data>/dagster_home``) as the UI, so runs started here show
up in ``dagster dev``. Steps: scan (opens batches) -> every batch whose outputs are missing ->
library-wide assets (statistics, roles, index, models, DuckDB), the last only when something
changed or an output is missing. A second run with no file changes decodes no audio.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetsDefinition, DagsterInstance, materialize

from dj_pipeline.errors import UserError
from dj_pipeline.storage import DataPaths
from dj_pipeline.storage.parquet import clean_stale_temp_files
from dj_pipeline.storage.tables import BATCH_ASSETS, read_catalog

QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class IngestReport:
    scan: dict = field(default_factory=dict)
    batches_processed: list[str] = field(default_factory=list)
    library_refreshed: bool = False
    seconds: float = 0.0


def dagster_instance(paths: DataPaths) -> DagsterInstance:
    """The persistent local Dagster instance under the data directory."""
    home = paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    yaml_file = home / "dagster.yaml"
    if not yaml_file.exists():
        yaml_file.write_text(INSTANCE_YAML, encoding="utf-8")
    return DagsterInstance.get()


# The instance the CLI creates (and `dagster dev` uses with the same DAGSTER_HOME): no telemetry,
# and every concurrency pool limited to 1 — `duckdb_writer` (DuckDB allows one writer) and
# `embedding_device` (one model on the GPU at a time).
INSTANCE_YAML = """telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def pending_batches(paths: DataPaths) -> dict[str, list[str]]:
    """Batches in the catalog with missing outputs, mapped to the batch assets still to run."""
    catalog = read_catalog(paths)
    if catalog.empty:
        return {}
    todo: dict[str, list[str]] = {}
    for batch in sorted(catalog["batch"].dropna().unique()):
        missing = [a for a in BATCH_ASSETS if not paths.batch_file(a, batch).exists()]
        if "track_windows" in missing:
            missing = list(BATCH_ASSETS)  # downstream of windows must follow them
        if missing:
            todo[batch] = missing
    return todo


def _by_name(assets: list[AssetsDefinition]) -> dict[str, AssetsDefinition]:
    return {a.key.to_user_string(): a for a in assets}


def run_ingest(
    library_dir: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
    samples_dir: str | os.PathLike | None = None,
    sampling_profile: str | None = None,
    embedding_backend: str = "auto",
    embedding_model: str | None = None,
    device: str | None = None,
    show_progress: bool = True,
    echo: Callable[[str], None] = print,
) -> IngestReport:
    """Materialize every asset for ``library_dir`` incrementally; raises ``UserError`` for bad input."""
    from dj_pipeline.assets.resources import settings_from_env
    from dj_pipeline.definitions import defs

    library = Path(library_dir).expanduser()
    if not library.is_dir():
        raise UserError(f"library folder not found: {library}")
    if samples_dir is not None and not Path(samples_dir).expanduser().is_dir():
        raise UserError(f"samples folder not found: {samples_dir}")
    paths = DataPaths(data_dir).ensure()
    clean_stale_temp_files(paths.parquet_dir)
    settings = settings_from_env(
        library_dir=str(library.resolve()),
        data_dir=str(paths.root),
        samples_dir=str(Path(samples_dir).expanduser().resolve()) if samples_dir else "",
        sampling_profile=sampling_profile or "",
        embedding_backend=embedding_backend,
        embedding_model=embedding_model or "",
        device=device or "",
        show_progress=show_progress,
    )
    logging.getLogger("dagster").setLevel(logging.WARNING)
    instance = dagster_instance(paths)
    assets = _by_name(list(defs.assets))  # type: ignore[arg-type]
    checks = list(defs.asset_checks or [])  # type: ignore[arg-type]
    resources = {"settings": settings}
    t0 = time.perf_counter()
    report = IngestReport()

    def run(names: list[str], partition_key: str | None = None) -> None:
        targets = {assets[n].key for n in names}
        own_checks = [c for c in checks if {k.asset_key for k in c.check_keys} <= targets]
        result = materialize(
            [*(assets[n] for n in names), *own_checks], instance=instance, resources=resources, partition_key=partition_key,
            run_config=QUIET_RUN_CONFIG, raise_on_error=True,
        )  # fmt: skip
        if not result.success:  # pragma: no cover - raise_on_error raises first
            raise RuntimeError(f"materialization of {names} failed")

    run(["track_catalog"])
    scan = _last_metadata(instance, "track_catalog")
    report.scan = scan
    echo(
        f"scan: {scan.get('tracks', 0)} tracks ({scan.get('new', 0)} new, {scan.get('changed', 0)} changed, "
        f"{scan.get('deleted', 0)} deleted, {scan.get('unchanged', 0)} unchanged), {scan.get('errors', 0)} unreadable files"
    )
    for batch, missing in pending_batches(paths).items():
        echo(f"batch {batch}: {', '.join(missing)}")
        run(missing, partition_key=batch)
        report.batches_processed.append(batch)
    library_assets = [n for n in LIBRARY_ASSETS if n in assets]
    changed = bool(report.batches_processed or scan.get("deleted") or scan.get("changed"))
    if changed or samples_dir or not paths.duckdb_path.exists():
        run(library_assets)
        report.library_refreshed = True
    report.seconds = time.perf_counter() - t0
    return report


LIBRARY_ASSETS = ["feature_stats", "sample_catalog", "sample_roles", "role_pools", "faiss_index", "similarity_model", "transition_ranker", "duckdb_catalog"]


def _last_metadata(instance: DagsterInstance, asset_name: str) -> dict:
    from dagster import AssetKey

    event = instance.get_latest_materialization_event(AssetKey(asset_name))
    if event is None or event.asset_materialization is None:
        return {}
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
