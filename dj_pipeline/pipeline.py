"""Run the whole asset graph in-process, incrementally: what ``dj ingest`` does.

Same assets, same Dagster instance (``<data>/dagster_home``) as the UI, so runs started here show
up in ``dagster dev``. Steps: scan (opens batches) -> every batch whose outputs are missing ->
library-wide assets (statistics, roles, index, models, DuckDB), the last only when something
changed or an output is missing. A second run with no file changes decodes no audio.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetsDefinition, DagsterInstance

from dj_pipeline.dagster_home import INSTANCE_YAML, prepare_dagster_home  # noqa: F401 - INSTANCE_YAML re-exported
from dj_pipeline.errors import UserError
from dj_pipeline.jobs import materialize_named, step_job_name
from dj_pipeline.ingest_options import resolve_force_paths, scan_line, user_errors_unwrapped
from dj_pipeline.preflight import check_ingest_config
from dj_pipeline.processes import process_alive
from dj_pipeline.storage import DataPaths
from dj_pipeline.storage.parquet import clean_stale_temp_files
from dj_pipeline.storage.tables import BATCH_ASSETS, OPTIONAL_BATCH_ASSETS, read_catalog

INGEST_STATE_FILE = "ingest_state.json"
RUN_PID_TAG = "dj/pid"
RUN_HOST_TAG = "dj/host"
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The scan's only expected failure is a user error (library unmounted) that the CLI prints as one line.
SCAN_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class IngestReport:
    scan: dict = field(default_factory=dict)
    batches_processed: list[str] = field(default_factory=list)
    library_refreshed: bool = False
    seconds: float = 0.0


def dagster_instance(paths: DataPaths) -> DagsterInstance:
    """The persistent local Dagster instance under the data directory."""
    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(paths.dagster_home))
    return DagsterInstance.get()


def release_dead_runs(instance: DagsterInstance) -> list[str]:
    """Fail the runs of earlier ``dj ingest`` processes on this host that died (SIGKILL, power cut).

    A killed process never releases the concurrency-pool slots its steps claimed, so the next run
    would wait for them forever. Runs started by ``dagster dev`` carry no ``dj/pid`` tag and are
    left to Dagster's own run monitoring.
    """
    from dagster import DagsterRunStatus, RunsFilter

    alive_statuses = [DagsterRunStatus.STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.NOT_STARTED]
    runs = instance.get_runs(RunsFilter(statuses=alive_statuses, tags={RUN_HOST_TAG: socket.gethostname()}))
    released: list[str] = []
    for run in runs:
        pid = int(run.tags.get(RUN_PID_TAG, "0") or 0)
        if pid and pid != os.getpid() and not process_alive(pid):
            instance.report_run_failed(run, message=f"dj ingest process {pid} is gone (killed?); its run is failed")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            released.append(run.run_id)
    return released


def pending_batches(
    paths: DataPaths, embedding: tuple[str, str | None] | None = None, optional: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Batches in the catalog with missing outputs, mapped to the batch assets still to run.

    ``embedding`` = (backend, model or None): a batch embedded with another backend (or another
    DSP model version) is embedded again, so a library never ends up split across backends after
    CLAP weights are added. ``optional`` names opt-in batch assets (drum profiles) to fill in too.
    """
    catalog = read_catalog(paths)
    if catalog.empty:
        return {}
    todo: dict[str, list[str]] = {}
    for batch in sorted(catalog["batch"].dropna().unique()):
        missing = [a for a in BATCH_ASSETS if not paths.batch_file(a, batch).exists()]
        if "track_windows" in missing:
            missing = list(BATCH_ASSETS)  # downstream of windows must follow them
        elif "track_embeddings" not in missing and embedding is not None and _needs_reembedding(paths, batch, embedding):
            missing.append("track_embeddings")
        missing += [a for a in optional if a not in missing and not paths.batch_file(a, batch).exists()]
        if missing:
            todo[batch] = missing
    return todo


def _needs_reembedding(paths: DataPaths, batch: str, wanted: tuple[str, str | None]) -> bool:
    have = _embedded_with(paths, batch)
    if have is None:
        return False
    backend, model = wanted
    return have[0] != backend or (model is not None and have[1] != model)


def _embedded_with(paths: DataPaths, batch: str) -> tuple[str, str | None] | None:
    """(backend, model) of a batch's embeddings, ``None`` when the batch has none."""
    from dj_pipeline.storage.fs import read_arrow_table

    table = read_arrow_table(paths.batch_file("track_embeddings", batch), columns=["backend", "model"])
    if table.num_rows == 0:
        return None
    return str(table.column("backend")[0]), str(table.column("model")[0])


def requested_embedding(backend: str, model: str | None) -> tuple[str, str | None]:
    """The (backend, model) an ingest will embed with; the model only where it is cheap to know (dsp, musicnn)."""
    from dj_pipeline.embeddings.factory import embedding_model_id, resolve_backend

    resolved = resolve_backend(backend, model)
    return resolved, embedding_model_id(resolved)


def load_state(paths: DataPaths) -> dict:
    """What the last successful ingest remembered (``ingest_state.json``), ``{}`` before one."""
    f = paths.root / INGEST_STATE_FILE
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}


def save_state(paths: DataPaths, state: dict) -> None:
    f = paths.root / INGEST_STATE_FILE
    tmp = f.with_suffix(".partial")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, f)


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
    drum_profiles: bool = False,
    retry_errors: bool = False,
    force_paths: list[str] | None = None,
    allow_deletions: bool = False,
) -> IngestReport:
    """Materialize every asset for ``library_dir`` incrementally; raises ``UserError`` for bad input.

    ``retry_errors``: try every file in ``ingest_errors`` again; ``force_paths``: analyse these
    files or folders again (``[]``: the whole library); ``allow_deletions``: drop missing tracks.
    """
    from dj_pipeline.assets.resources import settings_from_env
    from dj_pipeline.automation import library_signature
    from dj_pipeline.definitions import defs
    from dj_pipeline.recommend.training import feedback_grew as ranker_feedback_grew
    from dj_pipeline.audio.decode_cache import decode_cache
    from dj_pipeline.config.analysis import load_analysis_config
    from dj_pipeline.config.ingest import load_ingest_config
    from dj_pipeline.stages.pool import keep_workers

    library = Path(library_dir).expanduser()
    if not library.is_dir():
        raise UserError(f"library folder not found: {library}")
    if samples_dir is not None and not Path(samples_dir).expanduser().is_dir():
        raise UserError(f"samples folder not found: {samples_dir}")
    check_ingest_config(sampling_profile, embedding_backend, embedding_model)  # before anything is written
    forced = resolve_force_paths(library, force_paths)
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
        retry_errors=retry_errors,
        force_paths=forced,
        allow_deletions=allow_deletions,
    )
    logging.getLogger("dagster").setLevel(logging.WARNING)
    instance = dagster_instance(paths)
    for run_id in release_dead_runs(instance):
        echo(f"released the pool slots of run {run_id} (its process was killed)")
    from dj_pipeline.ingest_heal import heal_data_dir  # damaged tables, a moved data dir: repaired by this run

    heal_data_dir(paths, instance, library, echo)
    run_tags = {RUN_PID_TAG: str(os.getpid()), RUN_HOST_TAG: socket.gethostname()}
    assets = _by_name(list(defs.assets))  # type: ignore[arg-type]
    checks = list(defs.asset_checks or [])  # type: ignore[arg-type]
    resources = {"settings": settings}
    t0 = time.perf_counter()
    report = IngestReport()

    def run(names: list[str], partition_key: str | None = None, run_config: dict = QUIET_RUN_CONFIG) -> None:
        targets = {assets[n].key for n in names}
        own_checks = [c for c in checks if {k.asset_key for k in c.check_keys} <= targets]
        result = materialize_named(  # a named job per step (scan, batch, library refresh): the UI's runs list reads
            step_job_name(names, partition_key), [*(assets[n] for n in names), *own_checks], instance=instance, resources=resources, partition_key=partition_key,
            run_config=run_config, raise_on_error=True, tags=run_tags,
        )  # fmt: skip
        if not result.success:  # pragma: no cover - raise_on_error raises first
            raise RuntimeError(f"materialization of {names} failed")

    with user_errors_unwrapped():
        run(["track_catalog"], run_config=SCAN_RUN_CONFIG)
    scan = _last_metadata(instance, "track_catalog")
    report.scan = scan
    echo(scan_line(scan))
    embedding = requested_embedding(embedding_backend, embedding_model)
    optional = OPTIONAL_BATCH_ASSETS if drum_profiles else ()
    cache_sr, cache_mb = load_analysis_config().sr, load_ingest_config().decode_cache_mb
    with keep_workers():  # the stages of every batch share one warm worker pool
        for batch, missing in pending_batches(paths, embedding, optional).items():
            echo(f"batch {batch}: {', '.join(missing)}")
            with decode_cache(paths.scratch_dir, cache_sr, cache_mb):  # each file decoded once per batch, not per pass
                run(missing, partition_key=batch)
            report.batches_processed.append(batch)
    # Without --samples the drum-role tables of an earlier ingest are kept as they are.
    library_assets = [n for n in LIBRARY_ASSETS if n in assets and (settings.samples_dir or n not in ROLE_ASSETS)]
    changed = bool(report.batches_processed or any(scan.get(k) for k in ("deleted", "changed", "missing", "returned")))
    state = load_state(paths)
    samples_signature = library_signature(settings.samples_dir) if settings.samples_dir else state.get("samples_signature")
    # A refresh that failed or was killed part-way leaves the flag set, so the next ingest redoes
    # it even though no file changed since (its batches are already written).
    pending = bool(state.get("library_refresh_pending"))
    if changed or pending or state.get("samples_signature") != samples_signature or not paths.duckdb_path.exists():
        save_state(paths, {**state, "library_refresh_pending": True})
        run(library_assets)
        report.library_refreshed = True
        save_state(paths, {**state, "samples_signature": samples_signature, "library_refresh_pending": False})  # only once it succeeded
    elif "transition_ranker" in assets and ranker_feedback_grew(paths):  # new DJ feedback, no file change
        echo("feedback grew: retraining the transition ranker")
        run(["transition_ranker"])
    report.seconds = time.perf_counter() - t0
    return report


LIBRARY_ASSETS = ["feature_stats", "sample_catalog", "sample_roles", "role_pools", "faiss_index", "similarity_model", "transition_ranker", "duckdb_catalog"]
ROLE_ASSETS = frozenset({"sample_catalog", "sample_roles", "role_pools"})


def _last_metadata(instance: DagsterInstance, asset_name: str) -> dict:
    from dagster import AssetKey

    event = instance.get_latest_materialization_event(AssetKey(asset_name))
    if event is None or event.asset_materialization is None:
        return {}
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}
