"""Materialization metadata that makes the Dagster UI tell the story: counts, previews, plots."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

PREVIEW_ROWS = 10


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
