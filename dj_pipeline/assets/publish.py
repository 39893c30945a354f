"""``duckdb_catalog``: the one serialized writer of ``dj.duckdb`` (views over the Parquet tables)."""

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from dj_pipeline.assets.batches import track_embeddings, track_features, track_windows
from dj_pipeline.assets.catalog import track_catalog
from dj_pipeline.assets.library import faiss_index, feature_stats
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.assets.roles import role_pools, sample_roles
from dj_pipeline.storage.duckdb_catalog import publish_duckdb


@asset(
    deps=[track_catalog, track_windows, track_features, track_embeddings, feature_stats, sample_roles, role_pools, faiss_index],
    group_name="library",
    kinds={"duckdb"},
    pool="duckdb_writer",
    automation_condition=AutomationCondition.eager(),
    description=(
        "Rebuilds dj.duckdb: views (tracks, track_windows, track_features with z-scores, track_embeddings, "
        "sample_roles, role_pools, ingest_errors ...) over the Parquet files. Built in a temp file and renamed, "
        "so readers never see it half-built; runs in a concurrency pool of 1 (DuckDB allows one writer)."
    ),
)
def duckdb_catalog(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    counts = publish_duckdb(settings.paths)
    context.log.info("dj.duckdb views: %s", counts)
    return MaterializeResult(
        metadata={
            "dagster/row_count": counts.get("tracks", 0),
            "views": MetadataValue.json(counts),
            "path": MetadataValue.path(str(settings.paths.duckdb_path)),
        }
    )
