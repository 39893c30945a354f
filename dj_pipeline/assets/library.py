"""Whole-library assets that read every batch: feature statistics, the FAISS index, the SQL catalog."""

import json

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset

from dj_pipeline.assets.batches import track_embeddings, track_features
from dj_pipeline.assets.metadata import table_preview
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.storage import read_asset, write_parquet_atomic
from dj_pipeline.storage.duckdb_catalog import FEATURE_STATS_ASSET, publish_duckdb


@asset(
    deps=[track_features],
    group_name="library",
    kinds={"python", "parquet"},
    automation_condition=AutomationCondition.eager(),
    description=(
        "Library-wide mean/std of the features the recommender compares on one scale (energy, onset "
        "density, brightness, vocal presence, percussive ratio ...); the SQL view track_features adds "
        "z_<column> from these."
    ),
)
def feature_stats(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    from dj_pipeline.analysis import library_stats

    features = read_asset(settings.paths, "track_features")
    stats = stats_frame(library_stats(features)) if not features.empty else pd.DataFrame(columns=["column_name", "mean", "std"])
    write_parquet_atomic(stats, settings.paths.asset_dir(FEATURE_STATS_ASSET) / f"{FEATURE_STATS_ASSET}.parquet")
    return MaterializeResult(
        metadata={"dagster/row_count": len(stats), "tracks": MetadataValue.int(len(features)), "stats": table_preview(stats, n=20)}
    )


def stats_frame(stats: dict) -> pd.DataFrame:
    """``{column: {"mean": m, "std": s}}`` as rows (column_name, mean, std)."""
    return pd.DataFrame(
        [{"column_name": c, "mean": float(v["mean"]), "std": float(v["std"])} for c, v in stats.items()],
        columns=["column_name", "mean", "std"],
    )


@asset(
    deps=[track_embeddings],
    group_name="library",
    kinds={"faiss", "numpy"},
    automation_condition=AutomationCondition.eager(),
    description=(
        "FAISS indexes over intro vectors (outro->intro search), outro vectors and pooled track vectors "
        "of the current library, one backend only; flat inner product below ~20k vectors, approximate "
        "above (chosen automatically and recorded). DSP vectors are standardised with library statistics. "
        "Plus the style vectors: the track vectors diffused over the library's k-NN graph (the "
        "recommender's style term)."
    ),
)
def faiss_index(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    from dj_pipeline.stages.index_stage import build_library_indexes

    info = build_library_indexes(settings.paths)
    context.log.info("faiss_index: %s", json.dumps(info, default=str))
    style = info.get("indexes", {}).get("style", {})
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(sum(v.get("n", 0) for v in info.get("indexes", {}).values())),
            "backend": MetadataValue.text(str(info.get("backend"))),
            "model": MetadataValue.text(str(info.get("model"))),
            "indexes": MetadataValue.json(info.get("indexes", {})),
            "style_diffuse_s": MetadataValue.float(float(style.get("diffuse_s", 0.0))),
            "style_graph_neighbors": MetadataValue.int(int(style.get("graph_neighbors", 0))),
        }
    )
