"""The asset tables: names, how batch files are written, and how the current rows are read.

A batch-partitioned asset writes ``parquet/<asset>/batch=<key>.parquet`` with a ``batch`` column.
A track's current batch is recorded in the catalog; rows of other batches (an older copy of a file
that was later deleted and re-added) and rows of deleted tracks are dropped on read, so a deleted
track vanishes from every view without rewriting any batch file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from dj_pipeline.storage.parquet import list_batch_files, read_parquet_files, write_parquet_atomic
from dj_pipeline.storage.paths import CATALOG_ASSET, CATALOG_FILE, DataPaths  # noqa: F401 - re-exported

ERRORS_ASSET = "ingest_errors"
SCAN_ERRORS_FILE = "scan.parquet"
SAMPLE_CATALOG_ASSET = "sample_catalog"
SAMPLE_ERRORS_ASSET = "sample_errors"
# Batch-partitioned, per-track assets (every row has track_id and batch).
BATCH_ASSETS: tuple[str, ...] = ("track_windows", "track_features", "track_embeddings", "track_structure", "track_fingerprints", "track_beats")
# Batch assets that run only when asked for (``dj ingest --drum-profiles``).
OPTIONAL_BATCH_ASSETS: tuple[str, ...] = ("track_drum_profiles",)
# Per-track tables the track_structure asset writes beside its own file (same batch layout).
STRUCTURE_TABLES: tuple[str, ...] = ("track_sections", "track_cues")
# Whole-library tables written by one unpartitioned asset each.
SINGLE_FILE_ASSETS: tuple[str, ...] = ("sample_roles", "role_pools", "sample_errors")
# transient: retried by the next ingest (file vanished, I/O error); retries: how often it was (dj_pipeline.errors)
ERROR_COLUMNS = ["path", "stage", "error", "first_seen", "last_seen", "track_id", "batch", "size_bytes", "mtime", "transient", "retries"]


def error_row(
    path: str,
    stage: str,
    error: str,
    first_seen: object,
    last_seen: object,
    track_id: str | None = None,
    batch: str | None = None,
    size_bytes: int | None = None,
    mtime: float | None = None,
    transient: bool = False,
    retries: int = 0,
) -> dict:
    """One ``ingest_errors`` row (columns :data:`ERROR_COLUMNS`)."""
    return {
        "path": str(path), "stage": stage, "error": error, "first_seen": first_seen, "last_seen": last_seen,
        "track_id": track_id, "batch": batch, "size_bytes": size_bytes, "mtime": mtime,
        "transient": bool(transient), "retries": int(retries),
    }  # fmt: skip


def write_batch(data_dir: str | os.PathLike | DataPaths, asset: str, batch: str, df: pd.DataFrame) -> Path:
    """Atomically write one batch of an asset, stamping the ``batch`` column."""
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    df = df.copy()
    df["batch"] = batch
    return write_parquet_atomic(df, paths.batch_file(asset, batch))


def write_batch_errors(data_dir: str | os.PathLike | DataPaths, stage: str, batch: str, errors: pd.DataFrame) -> Path:
    """Write the errors one stage met in one batch (an empty file when there were none)."""
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    df = errors.reindex(columns=ERROR_COLUMNS).copy()
    df["stage"] = stage
    df["batch"] = batch
    for col in ("path", "stage", "error", "track_id", "batch"):
        df[col] = df[col].astype("string")
    for col in ("first_seen", "last_seen"):
        df[col] = pd.to_datetime(df[col], utc=True)
    df["size_bytes"] = df["size_bytes"].astype("Int64")
    df["mtime"] = df["mtime"].astype("float64")
    df["transient"] = df["transient"].fillna(False).astype(bool)
    df["retries"] = df["retries"].fillna(0).astype("int64")
    return write_parquet_atomic(df, paths.asset_dir(ERRORS_ASSET) / f"{stage}__batch={batch}.parquet")


def read_catalog(data_dir: str | os.PathLike | DataPaths) -> pd.DataFrame:
    """The last committed catalog (one row per current track), empty before the first scan.

    A damaged catalog raises ``DamagedTableError`` (never read as empty: that would look like a
    library whose every track is new); ``dj ingest`` rebuilds it (:mod:`dj_pipeline.ingest_heal`).
    """
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    f = paths.catalog_file
    return read_parquet_files([f], skip_damaged=False) if f.exists() else pd.DataFrame()


def read_errors(data_dir: str | os.PathLike | DataPaths, catalog: pd.DataFrame | None = None) -> pd.DataFrame:
    """Current ingest errors: scan errors of files still present, batch errors of current tracks."""
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    files = list_batch_files(paths.asset_dir(ERRORS_ASSET))
    errors = read_parquet_files(files)
    sample_errors = paths.asset_dir(SAMPLE_ERRORS_ASSET) / f"{SAMPLE_ERRORS_ASSET}.parquet"
    if sample_errors.exists():  # one-shots the roles stage could not read (stage "roles")
        errors = pd.concat([errors, read_parquet_files([sample_errors]).drop(columns=["sample_id"], errors="ignore")], ignore_index=True)
    if errors.empty:
        return pd.DataFrame(columns=ERROR_COLUMNS)
    catalog = read_catalog(paths) if catalog is None else catalog
    is_batch = ~errors["stage"].isin(["scan", "roles"])
    if is_batch.any() and not catalog.empty:
        current = set(zip(catalog["track_id"], catalog["batch"]))
        keep = [(t, b) in current for t, b in zip(errors["track_id"], errors["batch"])]
        errors = errors[~is_batch | pd.Series(keep, index=errors.index)]
    elif is_batch.any():
        errors = errors[~is_batch]
    return errors.reset_index(drop=True)


def read_asset(
    data_dir: str | os.PathLike | DataPaths, name: str, columns: list[str] | None = None, catalog: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Current rows of a table, by view name (``tracks``, ``track_features``, ``ingest_errors`` ...).

    ``tracks`` is the catalog minus tracks that failed decoding; batch assets are filtered to each
    track's current batch and to tracks still in the library. A caller reading several tables
    can pass the ``catalog`` (:func:`read_catalog`) it already holds, so it is read once.
    """
    paths = data_dir if isinstance(data_dir, DataPaths) else DataPaths(data_dir)
    if name in ("ingest_errors", "tracks", CATALOG_ASSET, *BATCH_ASSETS, *OPTIONAL_BATCH_ASSETS, *STRUCTURE_TABLES):
        catalog = read_catalog(paths) if catalog is None else catalog
    if name == "ingest_errors":
        return read_errors(paths, catalog)
    if name in ("tracks", CATALOG_ASSET):
        if catalog.empty or name == CATALOG_ASSET:
            return catalog
        errors = read_errors(paths, catalog)
        failed = set(errors.loc[errors["stage"] != "scan", "track_id"].dropna())
        from dj_pipeline.fingerprint.stage import add_duplicate_of  # copies of one recording (issue 14)

        tracks = catalog[~catalog["track_id"].isin(failed)].reset_index(drop=True)
        return add_duplicate_of(tracks, read_asset(paths, "track_fingerprints", ["track_id", "duplicate_of"], catalog))
    if name in BATCH_ASSETS or name in OPTIONAL_BATCH_ASSETS or name in STRUCTURE_TABLES:
        cols = None if columns is None else list(dict.fromkeys([*columns, "track_id", "batch"]))
        df = read_parquet_files(list_batch_files(paths.asset_dir(name)), columns=cols)
        if df.empty or catalog.empty:
            return df.iloc[0:0]
        current = catalog[["track_id", "batch"]]
        return df.merge(current, on=["track_id", "batch"], how="inner")
    f = paths.asset_dir(name) / f"{name}.parquet"
    return read_parquet_files([f], columns=columns) if f.exists() else pd.DataFrame(columns=columns or [])
