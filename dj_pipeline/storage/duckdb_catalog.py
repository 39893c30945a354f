"""Publish ``dj.duckdb``: SQL views over the Parquet tables, rebuilt by one serialized writer.

The database holds only views (no data), so rebuilding is cheap; it is built in a temp file and
renamed over ``dj.duckdb``, so readers never see a half-built catalog. Views apply the same
"current rows" rules as :func:`dj_pipeline.storage.read_asset`: deleted tracks and stale batches
drop out; tracks that failed decoding are in ``ingest_errors``, not in ``tracks``.

Views name their Parquet files by absolute path (so ``duckdb.connect("data/dj.duckdb")`` works from
any working directory), and the view ``dj_catalog_info`` records the data directory they were built
for. A data directory that was moved or copied is noticed on open (:func:`connect_readonly`) and by
the next ingest (:func:`ensure_catalog_location`): the views are rebuilt for where the files are now,
so a copy never silently reads the original's files.

Every connection handed to a reader is sealed: no file access outside the data directory, no
extension loading, configuration locked (see :mod:`dj_pipeline.storage.sql` for the statement check).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import duckdb

from dj_pipeline.storage.parquet import default_file_mode, list_batch_files
from dj_pipeline.storage.paths import DataPaths

SINGLE_TABLE_VIEWS: tuple[str, ...] = ("sample_catalog", "sample_roles", "role_pools")
FEATURE_STATS_ASSET = "feature_stats"
INFO_VIEW = "dj_catalog_info"
log = logging.getLogger(__name__)
CATALOG_LAYOUT_VERSION = 1


def _glob(directory: Path) -> str:
    return str(directory / "*.parquet").replace("'", "''")


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def view_statements(paths: DataPaths) -> dict[str, str]:
    """``CREATE VIEW`` statements for every table that has data on disk, by view name."""
    from dj_pipeline.storage.tables import (  # pandas: only when the views are (re)built
        BATCH_ASSETS,
        ERRORS_ASSET,
        OPTIONAL_BATCH_ASSETS,
        SAMPLE_ERRORS_ASSET,
        STRUCTURE_TABLES,
    )

    views: dict[str, str] = {}
    catalog_file = paths.catalog_file
    errors_dir = paths.asset_dir(ERRORS_ASSET)
    has_errors = bool(list_batch_files(errors_dir))
    if not catalog_file.exists():
        return views
    views["track_catalog"] = f"SELECT * FROM read_parquet('{_quote(catalog_file)}')"
    sample_errors = paths.asset_dir(SAMPLE_ERRORS_ASSET) / f"{SAMPLE_ERRORS_ASSET}.parquet"
    if has_errors:
        views["ingest_errors"] = (
            f"SELECT e.* EXCLUDE (filename) FROM read_parquet('{_glob(errors_dir)}', union_by_name=true, filename=true) e "
            "WHERE e.stage = 'scan' OR EXISTS (SELECT 1 FROM track_catalog c WHERE c.track_id = e.track_id AND c.batch = e.batch)"
        )
        if sample_errors.exists():
            views["ingest_errors"] += (
                f" UNION ALL BY NAME SELECT * EXCLUDE (sample_id) FROM read_parquet('{_quote(sample_errors)}')"
            )
        views["tracks"] = (
            "SELECT c.* FROM track_catalog c WHERE NOT EXISTS "
            "(SELECT 1 FROM ingest_errors e WHERE e.stage <> 'scan' AND e.track_id = c.track_id)"
        )
    else:
        views["tracks"] = "SELECT * FROM track_catalog"
    fingerprints_dir = paths.asset_dir("track_fingerprints")
    if list_batch_files(fingerprints_dir):  # duplicate_of: copies of one recording (issue 14)
        from dj_pipeline.fingerprint.stage import tracks_view_sql

        views["tracks"] = tracks_view_sql(views["tracks"], _glob(fingerprints_dir))
    for asset in (*BATCH_ASSETS, *OPTIONAL_BATCH_ASSETS, *STRUCTURE_TABLES):
        if list_batch_files(paths.asset_dir(asset)):
            views[asset] = (
                f"SELECT a.* FROM read_parquet('{_glob(paths.asset_dir(asset))}', union_by_name=true) a "
                "SEMI JOIN track_catalog c ON a.track_id = c.track_id AND a.batch = c.batch"
            )
    stats_file = paths.asset_dir(FEATURE_STATS_ASSET) / f"{FEATURE_STATS_ASSET}.parquet"
    if "track_features" in views and stats_file.exists():
        views["track_features_raw"] = views.pop("track_features")
        views["feature_stats"] = f"SELECT * FROM read_parquet('{_quote(stats_file)}')"
        views["track_features"] = _zscore_view(stats_file)
    for name in SINGLE_TABLE_VIEWS:
        f = paths.asset_dir(name) / f"{name}.parquet"
        if f.exists():
            views[name] = f"SELECT * FROM read_parquet('{_quote(f)}')"
    return views


def _zscore_view(stats_file: Path) -> str:
    """``track_features`` plus ``z_<column>`` for each column in the library statistics."""
    con = duckdb.connect()
    try:
        cols = [r[0] for r in con.execute(f"SELECT column_name FROM read_parquet('{_quote(stats_file)}')").fetchall()]
    finally:
        con.close()
    z = ", ".join(
        f"(f.{c} - (SELECT mean FROM feature_stats WHERE column_name = '{c}')) / "
        f"NULLIF((SELECT std FROM feature_stats WHERE column_name = '{c}'), 0) AS z_{c}"
        for c in cols
    )
    return f"SELECT f.*{', ' + z if z else ''} FROM track_features_raw f"


def _create_views(con: duckdb.DuckDBPyConnection, paths: DataPaths) -> list[str]:
    """Create every view (and the info view) in ``con``; returns the data view names.

    Tables on an object store are read from their local mirror (:mod:`dj_pipeline.storage.mirror`).
    """
    from dj_pipeline.storage.mirror import view_paths

    views = view_statements(view_paths(paths))
    for name, select in list(views.items()):
        try:
            con.execute(f'CREATE OR REPLACE VIEW "{name}" AS {select}')
        except duckdb.Error as exc:  # a damaged file (the next ingest sets it aside), or a view over one
            log.warning("view %s left out of dj.duckdb: %s", name, str(exc).strip().splitlines()[0])
            del views[name]
    con.execute(
        f'CREATE OR REPLACE VIEW "{INFO_VIEW}" AS SELECT \'{_quote(paths.root)}\' AS data_dir, '
        f"{CATALOG_LAYOUT_VERSION} AS layout_version"
    )
    return list(views)


def publish_duckdb(paths: DataPaths) -> dict[str, int]:
    """Rebuild ``dj.duckdb`` atomically (after updating the local mirror of remote tables); returns
    the row count of each view."""
    from dj_pipeline.storage.mirror import sync_mirror

    paths.root.mkdir(parents=True, exist_ok=True)
    sync_mirror(paths)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-dj-", suffix=".duckdb", dir=paths.root)
    os.close(fd)
    os.unlink(tmp)  # duckdb wants to create the file itself
    counts: dict[str, int] = {}
    try:
        con = duckdb.connect(tmp)
        try:
            for name in _create_views(con, paths):
                counts[name] = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])
            con.execute("CHECKPOINT")
        finally:
            con.close()
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, paths.duckdb_path)
    finally:
        Path(tmp).unlink(missing_ok=True)
        Path(tmp + ".wal").unlink(missing_ok=True)
    return counts


def built_for(paths: DataPaths) -> str | None:
    """The data directory ``dj.duckdb`` was built for (``None``: no catalog, or one from before this was recorded)."""
    if not paths.duckdb_path.exists():
        return None
    try:
        con = duckdb.connect(str(paths.duckdb_path), read_only=True)
    except duckdb.Error:  # not a database (damaged): rebuilding it is the repair
        return None
    try:
        row = con.execute(f'SELECT data_dir FROM "{INFO_VIEW}"').fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return str(row[0]) if row else None


def ensure_catalog_location(paths: DataPaths) -> bool:
    """Rebuild ``dj.duckdb`` when it was built for another place (the data dir was moved or copied).

    Returns whether it was rebuilt. Cheap when nothing moved (one read of a one-row view).
    """
    if not paths.duckdb_path.exists() or built_for(paths) == str(paths.root):
        return False
    publish_duckdb(paths)
    return True


def seal(con: duckdb.DuckDBPyConnection, paths: DataPaths) -> duckdb.DuckDBPyConnection:
    """No file access outside the data directory (and the local Parquet folder, when ``parquet_uri``
    puts it elsewhere), no extensions, and settings locked for good."""
    from dj_pipeline.storage.mirror import view_paths

    allowed = [paths.root, *[d for d in [view_paths(paths).parquet_dir] if not Path(d).is_relative_to(paths.root)]]
    con.execute("SET allowed_directories = [" + ", ".join(f"'{_quote(d)}/'" for d in allowed) + "]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


def connect_readonly(paths: DataPaths) -> duckdb.DuckDBPyConnection:
    """Open ``dj.duckdb`` read-only and sealed (raises ``FileNotFoundError`` before the first ingest).

    A catalog built for another location (a moved or copied data dir) is rebuilt first; where the
    data directory cannot be written (read-only media), the views are built in memory instead.
    """
    if not paths.duckdb_path.exists():
        raise FileNotFoundError(f"no SQL catalog at {paths.duckdb_path}: run `dj ingest` first")
    try:
        ensure_catalog_location(paths)
    except OSError:
        con = duckdb.connect(":memory:")
        _create_views(con, paths)
        return seal(con, paths)
    return seal(duckdb.connect(str(paths.duckdb_path), read_only=True), paths)
