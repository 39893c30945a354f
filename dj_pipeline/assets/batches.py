"""Batch-partitioned assets: ``track_windows`` -> ``track_features`` / ``track_embeddings``.

Each is a thin wrapper: read the batch's catalog rows (and upstream batch file), call a plain
stage function from ``dj_pipeline.stages``, write ``<asset>/batch=<key>.parquet`` and the stage's
errors atomically, and report counts and a preview.
"""

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from dj_pipeline.assets.catalog import track_catalog
from dj_pipeline.assets.metadata import batch_throughput, histogram_md, named_rows, table_preview
from dj_pipeline.assets.resources import INGEST_BATCHES, DJSettings
from dj_pipeline.config.ingest import load_ingest_config
from dj_pipeline.config.windows import load_windows_config
from dj_pipeline.stages import StageOutput, windows_for_batch
from dj_pipeline.stages.checkpoint import checkpoint_dir, checkpointing, config_fingerprint, discard
from dj_pipeline.stages.retries import count_retries
from dj_pipeline.stages.drum_profile_stage import drum_profiles_for_batch
from dj_pipeline.stages.embeddings_stage import embeddings_for_batch
from dj_pipeline.stages.features_stage import features_for_batch
from dj_pipeline.storage import DataPaths, read_parquet_files
from dj_pipeline.storage.tables import read_catalog, write_batch, write_batch_errors
from dj_pipeline.windows.mix import place_mix_windows


def batch_asset(**kwargs: Any) -> Callable:
    """``@asset`` partitioned by ingest batch and written as Parquet: the shared part of every batch asset."""
    return asset(partitions_def=INGEST_BATCHES, kinds={"python", "parquet"}, **kwargs)


def batch_tracks(paths: DataPaths, batch: str) -> pd.DataFrame:
    """Catalog rows whose current batch is ``batch``."""
    catalog = read_catalog(paths)
    return catalog[catalog["batch"] == batch].reset_index(drop=True) if not catalog.empty else catalog


def batch_rows(paths: DataPaths, asset: str, batch: str) -> pd.DataFrame:
    f = paths.batch_file(asset, batch)
    return read_parquet_files([f]) if f.exists() else pd.DataFrame(columns=["track_id"])


def _materialize(
    context: AssetExecutionContext,
    settings: DJSettings,
    asset_name: str,
    stage: str,
    run: Callable[[pd.DataFrame], StageOutput],
    extra_metadata: Callable[[pd.DataFrame], dict] | None = None,
) -> MaterializeResult:
    paths = settings.paths
    batch = context.partition_key
    tracks = batch_tracks(paths, batch)
    fingerprint = config_fingerprint(asset_name, settings.sampling_profile, settings.embedding_backend, settings.embedding_model)
    started = time.perf_counter()
    with checkpointing(checkpoint_dir(paths.root, asset_name, batch), fingerprint) as checkpoint:
        out = run(tracks)
    seconds = time.perf_counter() - started
    write_batch_errors(paths, stage, batch, count_retries(paths, stage, batch, out.errors))
    write_batch(paths, asset_name, batch, out.rows)
    discard(checkpoint)
    context.log.info("%s[%s]: %d tracks in, %d ok, %d errors, %d resumed from a killed run",
                     asset_name, batch, len(tracks), out.n_ok, len(out.errors), out.resumed)  # fmt: skip
    metadata: dict[str, object] = {
        "dagster/row_count": len(out.rows),
        "tracks_in": MetadataValue.int(len(tracks)),
        "tracks_ok": MetadataValue.int(out.n_ok),
        "tracks_resumed": MetadataValue.int(out.resumed),
        "errors": MetadataValue.int(len(out.errors)),
        "preview": table_preview(named_rows(out.rows.drop(columns=["vector"], errors="ignore"), tracks)),
        **batch_throughput(tracks, seconds),  # numbers: the asset page plots them over time
    }
    if not out.errors.empty:
        metadata["error_details"] = table_preview(out.errors, ["path", "error"], n=20)
    if extra_metadata is not None:
        metadata.update(extra_metadata(out.rows))
    return MaterializeResult(metadata=metadata)


def _materialize_from_windows(
    context: AssetExecutionContext,
    settings: DJSettings,
    asset_name: str,
    stage: str,
    run: Callable[[pd.DataFrame, pd.DataFrame], StageOutput],
    extra_metadata: Callable[[pd.DataFrame], dict] | None = None,
) -> MaterializeResult:
    """:func:`_materialize` for a stage that works on the batch's ``track_windows`` rows."""
    windows = batch_rows(settings.paths, "track_windows", context.partition_key)
    return _materialize(context, settings, asset_name, stage, lambda tracks: run(tracks, windows), extra_metadata)


@batch_asset(
    deps=[track_catalog],
    group_name="tracks",
    automation_condition=AutomationCondition.on_missing(),
    description=(
        "Sampled windows per track (intro, outro, main, tail_1, tail_2) chosen from a streamed "
        "onset/RMS/novelty envelope, seeded per track (windows.yaml). Silent and undecodable files "
        "go to ingest_errors."
    ),
)
def track_windows(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    config, ingest = load_windows_config(), load_ingest_config()
    profile = settings.sampling_profile or None
    return _materialize(
        context, settings, "track_windows", "windows",
        lambda tracks: windows_for_batch(tracks, config, ingest, profile, settings.show_progress),
    )  # fmt: skip


@batch_asset(
    deps=[track_windows],
    group_name="tracks",
    automation_condition=AutomationCondition.eager(),
    description=(
        "DSP features per track from its sampled windows: BPM (+confidence, stability, downbeat), key "
        "(+clarity, Camelot), energy, LUFS, low-end shares, mixability, hype and diversity proxies."
    ),
)
def track_features(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    def plots(rows: pd.DataFrame) -> dict:
        hists = {f"{c}_histogram": histogram_md(rows.get(c, pd.Series(dtype=float)), c) for c in ("bpm", "energy")}
        return {k: v for k, v in hists.items() if v is not None}

    return _materialize_from_windows(
        context, settings, "track_features", "features",
        lambda tracks, windows: features_for_batch(tracks, windows, settings.show_progress), plots,
    )  # fmt: skip


@batch_asset(
    deps=[track_windows, "track_structure"],  # mix-point intro/outro windows (windows.yaml: mix_point_windows)
    group_name="tracks",
    pool="embedding_device",
    automation_condition=AutomationCondition.eager(),
    description=(
        "Audio embeddings per window and a pooled track vector. Backend 'auto': CLAP (transformers) "
        "when weights are on disk, else the offline DSP embedder; backend and model stored per row."
    ),
)
def track_embeddings(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    from dj_pipeline.embeddings import get_embedder

    embedder = get_embedder(
        backend=settings.embedding_backend, model=settings.embedding_model or None, device=settings.device or None
    )
    context.log.info("embedding backend=%s model=%s", embedder.backend, embedder.model)
    return _materialize_from_windows(
        context, settings, "track_embeddings", "embeddings",
        lambda tracks, windows: embeddings_for_batch(
            tracks, place_mix_windows(windows, batch_rows(settings.paths, "track_cues", context.partition_key)), embedder, settings.show_progress
        ),
        lambda rows: {"backend": MetadataValue.text(embedder.backend), "model": MetadataValue.text(str(embedder.model))},
    )  # fmt: skip


@batch_asset(
    deps=[track_windows],
    group_name="roles",
    description=(
        "Opt-in (`dj ingest --drum-profiles`, or materialize it here): the share of each drum role "
        "(CORE/ACCENT/MOTION/FILL/TEXTURE) among the drum hits of a track's main window, from the "
        "same assigner as the one-shot pools. Costs a few CPU seconds per track."
    ),
)
def track_drum_profiles(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    return _materialize_from_windows(
        context, settings, "track_drum_profiles", "drum_profiles",
        lambda tracks, windows: drum_profiles_for_batch(tracks, windows, settings.show_progress),
    )  # fmt: skip


@batch_asset(
    deps=[track_catalog],
    group_name="tracks",
    automation_condition=AutomationCondition.on_missing(),
    description=(
        "Audio fingerprint per track (spectrogram-peak landmarks, fingerprint.yaml) and duplicate_of: "
        "the track id of the library track this file is a copy of (an excerpt, a re-encode, another format)."
    ),
)
def track_fingerprints(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    from dj_pipeline.fingerprint.stage import ASSET, fingerprints_for_batch
    from dj_pipeline.storage import read_asset

    existing = read_asset(settings.paths, ASSET)
    workers = load_ingest_config().workers
    return _materialize(
        context, settings, ASSET, "fingerprints",
        lambda tracks: fingerprints_for_batch(tracks, existing, settings.show_progress, workers),
        lambda rows: {"duplicates": MetadataValue.int(int(rows["duplicate_of"].notna().sum()) if "duplicate_of" in rows else 0)},
    )  # fmt: skip
