"""How often a failed track was tried: the ``retries`` column of ``ingest_errors``.

A track whose error is retried is moved to a new batch by the scan (see
:mod:`dj_pipeline.catalog.lifecycle`), so its earlier failures are the error rows of the same
track and stage in *other* batches; the new error counts one more than the most recent of them.
"""

from __future__ import annotations

import pandas as pd

from dj_pipeline.storage import DataPaths, read_parquet_files
from dj_pipeline.storage.parquet import list_batch_files
from dj_pipeline.storage.tables import ERRORS_ASSET


def count_retries(paths: DataPaths, stage: str, batch: str, errors: pd.DataFrame) -> pd.DataFrame:
    """``errors`` of ``stage`` in ``batch`` with ``retries`` = earlier failures of the same track."""
    if errors.empty:
        return errors
    files = [f for f in list_batch_files(paths.asset_dir(ERRORS_ASSET)) if f.name.startswith(f"{stage}__") and f.name != f"{stage}__batch={batch}.parquet"]
    earlier = read_parquet_files(files, columns=["track_id", "last_seen", "retries"]) if files else pd.DataFrame()
    out = errors.copy()
    if earlier.empty:
        out["retries"] = 0
        return out
    if "retries" not in earlier:
        earlier["retries"] = 0
    earlier = earlier[earlier["track_id"].isin(out["track_id"])]
    latest = earlier.sort_values("last_seen").groupby("track_id")["retries"].last().fillna(0).astype(int) + 1
    out["retries"] = out["track_id"].map(latest).fillna(0).astype(int)
    return out
