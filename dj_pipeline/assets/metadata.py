"""Materialization metadata that makes the Dagster UI tell the story: counts, previews, plots."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

PREVIEW_ROWS = 10
# Columns a rescan rewrites without anything having changed: left out of the catalog's data version.
SCAN_TIME_COLUMNS = ("scanned_at", "last_seen")


def table_preview(df: pd.DataFrame, columns: Sequence[str] | None = None, n: int = PREVIEW_ROWS) -> MetadataValue:
    """A ``MetadataValue.table`` of the first ``n`` rows (values shown as short strings)."""
    cols = [c for c in (columns or df.columns) if c in df.columns]
    head = df[cols].head(n)
    schema = TableSchema(columns=[TableColumn(name=c, type=str(head[c].dtype)) for c in cols])
    records = [TableRecord({c: _cell(v) for c, v in zip(cols, row)}) for row in head.itertuples(index=False)]
    return MetadataValue.table(records=records, schema=schema)


def png_markdown(fig) -> MetadataValue:  # noqa: ANN001 - a matplotlib Figure
    """Embed a small matplotlib figure as a base64 PNG in markdown."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=70, bbox_inches="tight")
    return MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})")


def histogram_md(values: pd.Series, title: str, bins: int = 30) -> MetadataValue | None:
    """A histogram of a numeric column as embedded PNG markdown; ``None`` when there is no data."""
    vals = pd.to_numeric(values, errors="coerce").dropna()
    if vals.empty:
        return None
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend (e.g. a notebook's) alone

    fig = Figure(figsize=(4, 2.2))
    ax = fig.subplots()
    ax.hist(vals, bins=bins, color="#4c72b0")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    return png_markdown(fig)


def _cell(v: object) -> str | int | float | bool | None:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    if isinstance(v, bool | int):
        return v
    if isinstance(v, float):
        return round(v, 4)
    s = str(v)
    return s if len(s) <= 80 else s[:77] + "..."


def content_version(*frames: pd.DataFrame) -> str:
    """A data version that changes only when the content does (row order and scan times ignored).

    Given to ``MaterializeResult(data_version=...)``: a rescan that found nothing new keeps the
    version, so Dagster does not mark everything downstream "Unsynced" after a no-op ingest.
    """
    import hashlib

    h = hashlib.sha1()
    for df in frames:
        body = df.drop(columns=[c for c in SCAN_TIME_COLUMNS if c in df.columns])
        body = body.reindex(columns=sorted(body.columns))
        h.update(",".join(body.columns).encode())
        if len(body.columns):  # one hash per row, sorted: the multiset of rows (no string copy of 50,000 rows)
            h.update(np.sort(pd.util.hash_pandas_object(body, index=False).to_numpy()).tobytes())
    return h.hexdigest()[:16]


def named_rows(rows: pd.DataFrame, tracks: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the tracks' artist and title up front, so a preview names tracks, not hashes."""
    names = [c for c in ("artist", "title") if c in tracks.columns and c not in rows.columns]
    if "track_id" not in rows.columns or "track_id" not in tracks.columns or not names:
        return rows
    named = rows.merge(tracks[["track_id", *names]].drop_duplicates("track_id"), on="track_id", how="left")
    return named[[*names, *[c for c in rows.columns]]]


def batch_throughput(tracks: pd.DataFrame, seconds: float) -> dict[str, MetadataValue]:
    """:func:`throughput_metadata` of a batch's tracks (their catalog rows, ``duration_s``)."""
    audio_s = float(pd.to_numeric(tracks.get("duration_s", pd.Series(dtype=float)), errors="coerce").fillna(0).sum())
    return throughput_metadata(audio_s, len(tracks), seconds)


def throughput_metadata(audio_s: float, n_tracks: int, seconds: float) -> dict[str, MetadataValue]:
    """Numbers the asset page plots over time: tracks per minute, minutes of audio, x real time."""
    if seconds <= 0:
        return {}
    return {
        "seconds": MetadataValue.float(round(seconds, 2)),
        "audio_minutes": MetadataValue.float(round(audio_s / 60.0, 2)),
        "tracks_per_minute": MetadataValue.float(round(60.0 * n_tracks / seconds, 2)),
        "x_real_time": MetadataValue.float(round(audio_s / seconds, 2)),
    }
