"""``track_catalog``: scan the library, diff against the last scan, open ingest batches."""

from dagster import AssetExecutionContext, DataVersion, MaterializeResult, MetadataValue, asset

from dj_pipeline.assets.metadata import content_version, histogram_md, table_preview
from dj_pipeline.assets.resources import INGEST_BATCHES, DJSettings
from dj_pipeline.catalog import ScanOptions, scan_library
from dj_pipeline.config.ingest import load_ingest_config
from dj_pipeline.storage import write_parquet_atomic
from dj_pipeline.storage.tables import ERRORS_ASSET, SCAN_ERRORS_FILE, read_catalog, read_errors


@asset(
    group_name="catalog",
    kinds={"python", "parquet"},
    description=(
        "One row per audio file in the library: stable content-hash track_id, path, tags, duration, "
        "format, and the ingest batch it was processed in. Diffs against the previous scan (new, changed, "
        "unchanged, deleted) without reading audio, and opens a new ingest batch for new/changed tracks."
    ),
)
def track_catalog(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    paths = settings.paths
    config = load_ingest_config()
    scan_errors_file = paths.asset_dir(ERRORS_ASSET) / SCAN_ERRORS_FILE
    previous = read_catalog(paths)
    previous_errors = read_errors(paths, previous)  # scan errors and the batch errors of current tracks
    options = ScanOptions(
        retry_errors=settings.retry_errors,
        force_paths=None if settings.force_paths is None else tuple(settings.force_paths),
        allow_deletions=settings.allow_deletions,
    )
    result = scan_library(settings.library_dir, previous, previous_errors, config, options=options)

    write_parquet_atomic(result.errors, scan_errors_file)
    write_parquet_atomic(result.catalog, paths.catalog_file)
    register_batches(context, sorted(result.catalog["batch"].dropna().unique()))

    summary = result.summary()
    context.log.info("scan of %s: %s", settings.library_dir, summary)
    metadata: dict[str, object] = {
        "dagster/row_count": len(result.catalog),
        **{k: MetadataValue.int(v) for k, v in summary.items()},
        "new_batches": MetadataValue.json(result.new_batches),
        "library_dir": MetadataValue.path(settings.library_dir),
        "preview": table_preview(result.catalog, ["track_id", "rel_path", "format", "duration_s", "artist", "title", "batch"]),
    }
    if not result.errors.empty:
        metadata["scan_errors"] = table_preview(result.errors, ["path", "error"], n=20)
    # drawn when the library changed (matplotlib costs seconds; a no-op rescan keeps the last one)
    hist = histogram_md(result.catalog["duration_s"], "track duration (s)") if result.changed_anything else None
    if hist is not None:
        metadata["duration_histogram"] = hist
    # the same catalog and errors give the same version: a no-op rescan leaves downstream "Synced"
    return MaterializeResult(metadata=metadata, data_version=DataVersion(content_version(result.catalog, result.errors)))


def register_batches(context: AssetExecutionContext, batch_keys: list[str]) -> list[str]:
    """Add catalog batches that the instance does not know yet as dynamic partitions (idempotent)."""
    known = set(context.instance.get_dynamic_partitions(INGEST_BATCHES.name))
    missing = [b for b in batch_keys if b not in known]
    if missing:
        context.instance.add_dynamic_partitions(INGEST_BATCHES.name, missing)
    return missing
