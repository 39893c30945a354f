"""Before an ingest runs: find what is damaged in the data directory, so that the run repairs it.

- every table file's footer is read and its row count compared with the count Dagster recorded
  when the file was written; a damaged batch file is set aside (``<data>/damaged/``), so the batch
  counts as missing and is redone; a damaged error file takes its batch with it (its failed tracks
  would otherwise look analysed); a damaged library-wide table is rebuilt by a library refresh;
- files a reader had to skip (see :func:`dj_pipeline.storage.parquet.read_parquet_files`) are
  read in full here, which catches damage inside a file whose footer survived;
- a damaged ``catalog.parquet`` is rebuilt from a rescan of the library (headers and tags only),
  each track going back to the batch that processed it (recovered from the batch files), so
  nothing is analysed again;
- a ``dj.duckdb`` built for another place (the data directory was moved or copied) is rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dj_pipeline.storage import DataPaths
from dj_pipeline.storage.duckdb_catalog import ensure_catalog_location
from dj_pipeline.storage.health import (
    DamagedFile,
    batch_of,
    clear_suspects,
    find_damaged,
    parquet_problem,
    read_suspects,
    recovered_batches,
    set_aside,
    set_aside_all,
)
from dj_pipeline.storage.tables import BATCH_ASSETS, CATALOG_ASSET, ERRORS_ASSET, OPTIONAL_BATCH_ASSETS

FIRST_BATCH_ASSET = "track_windows"  # every other batch asset follows it: no windows file, the whole batch is redone
FIRST_STAGE = "windows"
RECORDS_PAGE = 1000


def heal_data_dir(paths: DataPaths, instance: Any, library_dir: str | Path, echo: Callable[[str], None]) -> bool:
    """Repair what can be repaired before the scan; returns whether the library-wide assets must be rebuilt."""
    refresh = False
    rebuilt = heal_catalog(paths, library_dir)
    if rebuilt is not None:
        echo(rebuilt)
        refresh = True
    assets = [d.name for d in sorted(paths.parquet_dir.iterdir()) if d.is_dir() and d.name != CATALOG_ASSET] if paths.parquet_dir.is_dir() else []
    recorded = recorded_row_counts(instance, [a for a in (*BATCH_ASSETS, *OPTIONAL_BATCH_ASSETS) if a in assets])
    damaged = find_damaged(paths, assets, recorded)
    known = {d.path for d in damaged}
    damaged += [_deep(p) for p in read_suspects(paths.root) if p.exists() and p not in known]
    damaged = set_aside_all(paths, [d for d in damaged if d is not None])
    clear_suspects(paths.root)
    for d in damaged:
        echo(f"repair: damaged table file {d.describe()}; {_consequence(d)}")
        if d.batch is None:
            refresh = True
        elif d.stage is not None:  # an error file: redo its batch from the windows on
            _drop_batch(paths, d.batch)
    if damaged:
        refresh = True
    if refresh:
        _mark_refresh_pending(paths)
    if ensure_catalog_location(paths):  # after the repairs: the views are built over sound files
        echo(f"repair: dj.duckdb was built for another place (data directory moved or copied); rebuilt for {paths.root}")
    return refresh


def heal_catalog(paths: DataPaths, library_dir: str | Path) -> str | None:
    """Rebuild a damaged catalog from a rescan; returns what was done, ``None`` when it was sound."""
    import pandas as pd

    from dj_pipeline.catalog import scan_library
    from dj_pipeline.config.ingest import load_ingest_config
    from dj_pipeline.storage import write_parquet_atomic

    f = paths.catalog_file
    problem = parquet_problem(f, deep=True) if f.exists() else None
    if problem is None:
        return None
    moved = set_aside(paths, CATALOG_ASSET, f)
    result = scan_library(library_dir, pd.DataFrame(), pd.DataFrame(), load_ingest_config())
    catalog = result.catalog
    recovered = recovered_batches(paths, FIRST_BATCH_ASSET, ERRORS_ASSET, FIRST_STAGE)
    found = catalog["track_id"].map(recovered)
    catalog["batch"] = found.fillna(catalog["batch"])
    write_parquet_atomic(catalog, f)
    return (
        f"repair: the track catalog {f} was damaged ({problem}; moved to {moved}); rebuilt from a rescan: "
        f"{len(catalog)} tracks, {int(found.notna().sum())} of them keep their analysis"
    )


def recorded_row_counts(instance: Any, assets: Iterable[str]) -> dict[tuple[str, str], int]:
    """``(asset, batch) -> dagster/row_count`` of each batch's latest materialization in ``instance``."""
    from dagster import AssetKey, AssetRecordsFilter

    counts: dict[tuple[str, str], int] = {}
    for asset in assets:
        cursor = None
        while True:
            page = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(asset)), limit=RECORDS_PAGE, cursor=cursor)
            for record in page.records:  # newest first: the first count seen for a batch is its latest
                mat = record.asset_materialization
                rows = mat.metadata.get("dagster/row_count") if mat is not None else None
                if mat is not None and mat.partition is not None and rows is not None:
                    counts.setdefault((asset, mat.partition), int(rows.value))
            if not page.has_more:
                break
            cursor = page.cursor
    return counts


def _deep(path: Path) -> DamagedFile | None:
    reason = parquet_problem(path, deep=True)
    if reason is None:
        return None
    stage, batch = batch_of(path)
    return DamagedFile(path.parent.name, path, None, reason, batch, stage)


def _drop_batch(paths: DataPaths, batch: str) -> None:
    f = paths.batch_file(FIRST_BATCH_ASSET, batch)
    if f.exists():
        set_aside(paths, FIRST_BATCH_ASSET, f)


def _consequence(d: DamagedFile) -> str:
    if d.asset == ERRORS_ASSET and d.batch is None:
        return "the scan writes it again"
    if d.batch is None:
        return "the library-wide tables are rebuilt"
    return f"batch {d.batch} is processed again"


def _mark_refresh_pending(paths: DataPaths) -> None:
    from dj_pipeline.pipeline import load_state, save_state

    save_state(paths, {**load_state(paths), "library_refresh_pending": True})
