"""Data-quality checks shown beside the assets in the Dagster UI."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from dj_pipeline.assets.batches import track_embeddings, track_features
from dj_pipeline.assets.catalog import track_catalog
from dj_pipeline.assets.library import faiss_index
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.embeddings.base import count_not_unit
from dj_pipeline.storage import list_batch_files, read_asset
from dj_pipeline.storage.fs import read_arrow_table
from dj_pipeline.storage.tables import read_catalog

CAMELOT_PATTERN = r"^(?:[1-9]|1[0-2])[AB]$"


def count_nan_cells(files: list) -> int:
    """Float NaN values (as opposed to NULLs, which are allowed with a reason) in Parquet files."""
    total = 0
    for f in files:
        table = read_arrow_table(f)
        for col in table.columns:
            if pa.types.is_floating(col.type):
                total += int(pc.sum(pc.is_nan(col)).as_py() or 0)
    return total


@asset_check(asset=track_catalog, description="track_id is unique and every track has a positive duration.")
def catalog_ids_unique(settings: DJSettings) -> AssetCheckResult:
    catalog = read_catalog(settings.paths)
    dupes = int(catalog["track_id"].duplicated().sum()) if not catalog.empty else 0
    bad_dur = int((pd.to_numeric(catalog.get("duration_s"), errors="coerce") <= 0).sum()) if not catalog.empty else 0
    return AssetCheckResult(passed=dupes == 0 and bad_dur == 0, metadata={"duplicate_ids": dupes, "non_positive_durations": bad_dur})


@asset_check(asset=track_features, description="No NaN in numeric columns; BPM in the DJ range; Camelot codes well formed.")
def features_valid(settings: DJSettings) -> AssetCheckResult:
    f = read_asset(settings.paths, "track_features")
    if f.empty:
        return AssetCheckResult(passed=True, metadata={"rows": 0})
    nan_cells = count_nan_cells(list_batch_files(settings.paths.asset_dir("track_features")))
    bpm = pd.to_numeric(f["bpm"], errors="coerce").dropna()
    out_of_range = int(((bpm < 60) | (bpm > 200)).sum())
    cam = f["camelot"].dropna().astype(str)
    bad_cam = int((~cam.str.match(CAMELOT_PATTERN)).sum())
    return AssetCheckResult(
        passed=nan_cells == 0 and out_of_range == 0 and bad_cam == 0,
        severity=AssetCheckSeverity.WARN,
        metadata={"rows": len(f), "nan_cells": nan_cells, "bpm_out_of_range": out_of_range, "bad_camelot": bad_cam},
    )


@asset_check(asset=track_embeddings, description="Vectors are finite, L2-normalised and of one size per backend.")
def embeddings_normalised(settings: DJSettings) -> AssetCheckResult:
    e = read_asset(settings.paths, "track_embeddings")
    if e.empty:
        return AssetCheckResult(passed=True, metadata={"rows": 0})
    bad_norm, dims = 0, {}
    for (backend, model), grp in e.groupby(["backend", "model"]):
        vecs = np.stack(grp["vector"].to_numpy()).astype(np.float64)
        bad_norm += count_not_unit(vecs)
        dims[f"{backend}:{model}"] = int(vecs.shape[1])
    return AssetCheckResult(passed=bad_norm == 0, metadata={"rows": len(e), "not_unit_norm": bad_norm, "dims": dims})


@asset_check(
    asset=faiss_index,
    description="The intro, outro, track and style indexes cover the same tracks; the style vectors were made from the current track vectors and are finite unit vectors.",
)
def indexes_consistent(settings: DJSettings) -> AssetCheckResult:
    from dj_pipeline.stages.index_stage import index_consistency

    info = index_consistency(settings.paths)
    ok = not info["mismatched"] and not info["unreadable"] and not info["stale_style"] and info["bad_style_vectors"] == 0 and (info["tracks"] == 0 or info["has_style"])
    return AssetCheckResult(passed=ok, metadata={k: v if not isinstance(v, list) else ", ".join(v) for k, v in info.items()})
