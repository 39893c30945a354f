"""The ``track_fingerprints`` batch stage and the library's fingerprints as a searchable index.

Each track of a batch gets its landmarks (``fp_hashes``, ``fp_times``); then each is matched
against the fingerprints already in the library and the batch's other tracks, and a copy (an
excerpt, a re-encode, another format of a track already there) gets ``duplicate_of`` = the
original's track id. The ``tracks`` view carries that column (:func:`add_duplicate_of`), and
recommendations skip duplicates.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from dj_pipeline.config.fingerprint import FingerprintConfig, load_fingerprint_config
from dj_pipeline.fingerprint.landmarks import fingerprint_file
from dj_pipeline.fingerprint.match import FingerprintIndex, find_duplicates

ASSET = "track_fingerprints"
COLUMNS = ["track_id", "fp_hashes", "fp_times", "duplicate_of"]


def fingerprints_for_batch(tracks: pd.DataFrame, existing: pd.DataFrame, show_progress: bool = True, workers: int = 1) -> Any:
    """``track_fingerprints`` rows for a batch's catalog rows; ``existing``: the library's
    current fingerprint rows of other batches (the originals a copy points at)."""
    from dj_pipeline.stages.common import run_per_track

    config = load_fingerprint_config()
    out = run_per_track(tracks, partial(_fingerprint_rows, config=config), "fingerprints", COLUMNS[:3], show_progress, workers=workers)
    rows = out.rows
    if rows.empty:
        rows["duplicate_of"] = pd.Series(dtype="string")
        return out
    others = existing[~existing["track_id"].isin(rows["track_id"])] if not existing.empty else existing
    duration = tracks.set_index("track_id")["duration_s"].reindex(rows["track_id"]).fillna(0.0).to_numpy(dtype=np.float64)
    dups = find_duplicates(rows["track_id"].tolist(), list(rows["fp_hashes"]), list(rows["fp_times"]), list(duration), index_from_rows(others, config))
    rows["duplicate_of"] = pd.Series([dups.get(t) for t in rows["track_id"]], dtype="string")
    return out


def _fingerprint_rows(track: Any, config: FingerprintConfig) -> list[dict[str, Any]]:
    hashes, times = fingerprint_file(track.path, config)
    return [{"track_id": track.track_id, "fp_hashes": hashes.astype(np.int32), "fp_times": times.astype(np.int32)}]


def index_from_rows(rows: pd.DataFrame, config: FingerprintConfig | None = None) -> FingerprintIndex:
    """A :class:`FingerprintIndex` over ``track_fingerprints`` rows (empty rows: an empty index)."""
    config = config or load_fingerprint_config()
    if rows is None or rows.empty:
        return FingerprintIndex([], [], [], config)
    hashes = [np.asarray(h, dtype=np.int32) for h in rows["fp_hashes"]]
    times = [np.asarray(t, dtype=np.int32) for t in rows["fp_times"]]
    return FingerprintIndex(rows["track_id"].astype(str).tolist(), hashes, times, config)


def add_duplicate_of(tracks: pd.DataFrame, fingerprints: pd.DataFrame) -> pd.DataFrame:
    """``tracks`` with a ``duplicate_of`` column (null unless the track is a copy of another
    current track; a copy whose original has left the library is no longer flagged)."""
    out = tracks.copy()
    if fingerprints is None or fingerprints.empty or "duplicate_of" not in fingerprints or "track_id" not in out:
        out["duplicate_of"] = pd.Series([None] * len(out), dtype="string", index=out.index)
        return out
    dup = fingerprints.drop_duplicates("track_id", keep="last").set_index("track_id")["duplicate_of"]
    values = dup.reindex(out["track_id"]).to_numpy(dtype=object)
    present = set(out["track_id"].astype(str))
    out["duplicate_of"] = pd.Series([v if isinstance(v, str) and v in present else None for v in values], dtype="string", index=out.index)
    return out


def tracks_view_sql(base_select: str, fingerprint_glob: str) -> str:
    """The DuckDB ``tracks`` view with ``duplicate_of`` joined from the fingerprint files (only
    when the original is itself a current track)."""
    return (
        f"SELECT t.*, CASE WHEN f.duplicate_of IN (SELECT track_id FROM track_catalog) THEN f.duplicate_of END AS duplicate_of "
        f"FROM ({base_select}) t LEFT JOIN (SELECT fp.track_id, fp.duplicate_of FROM read_parquet('{fingerprint_glob}', union_by_name=true) fp "
        f"SEMI JOIN track_catalog c ON fp.track_id = c.track_id AND fp.batch = c.batch) f USING (track_id)"
    )
