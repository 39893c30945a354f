"""A local copy of tables kept on an object store, for the DuckDB views (issue 17).

Why a mirror and not DuckDB's ``httpfs`` reading ``s3://`` directly: ``dj sql`` connections are
sealed (no extension loading, no file access outside the data dir, settings locked), ``httpfs`` is
an extension DuckDB downloads on first use (offline machines cannot) and would need the store's
credentials inside every reader; the mirror keeps the SQL surface local, sealed and offline, at the
cost of a disk copy of the tables on the one machine that publishes (which already holds DuckDB and
the FAISS index). The copy is incremental: a file is fetched again only when its size or mtime
changed, files gone from the store are removed, and each file is replaced atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dj_pipeline.storage.fs import TablePath
from dj_pipeline.storage.paths import DataPaths

STAMP_SUFFIX = ".src"  # beside each mirrored file: "<size> <mtime>" of the object it was copied from


def view_paths(paths: DataPaths) -> DataPaths:
    """The ``DataPaths`` whose Parquet folder DuckDB reads: ``paths`` itself when its tables are local,
    else the same data dir with the local mirror as its Parquet folder."""
    if paths.parquet_is_local:
        return paths
    return DataPaths(paths.root, parquet_uri=str(paths.parquet_mirror_dir))


def sync_mirror(paths: DataPaths) -> int:
    """Bring the local mirror up to date with the remote tables; returns how many files were copied.

    Only finished table files are mirrored (``.tmp-*`` keys of writes in flight are skipped).
    """
    if paths.parquet_is_local:
        return 0
    remote: TablePath = paths.parquet_dir  # type: ignore[assignment]
    mirror = paths.parquet_mirror_dir
    wanted: set[Path] = set()
    copied = 0
    for src, size, mtime in _remote_files(remote):
        rel = src.fs_path[len(remote.fs_path) :].lstrip("/")
        dst = mirror / rel
        wanted.add(dst)
        stamp = f"{size} {mtime}"
        stamp_file = dst.with_name(dst.name + STAMP_SUFFIX)
        known = mtime is not None and dst.exists() and stamp_file.exists()  # no mtime: always copied
        if known and stamp_file.read_text(encoding="utf-8") == stamp:
            continue
        _copy_atomic(src, dst)
        stamp_file.write_text(stamp, encoding="utf-8")
        copied += 1
    for f in list(mirror.rglob("*.parquet")) if mirror.is_dir() else []:
        if f not in wanted:
            f.unlink(missing_ok=True)
            f.with_name(f.name + STAMP_SUFFIX).unlink(missing_ok=True)
    return copied


def _remote_files(remote: TablePath) -> list[tuple[TablePath, int | None, float | None]]:
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(remote.fs_path, allow_not_found=True, recursive=True)
    out = []
    for info in remote.fs.get_file_info(selector):
        name = info.path.rsplit("/", 1)[-1]
        if info.type == pafs.FileType.File and name.endswith(".parquet") and not name.startswith(".tmp-"):
            out.append((TablePath(remote.fs, info.path, remote.scheme), info.size, info.mtime.timestamp() if info.mtime else None))
    return out


def _copy_atomic(src: TablePath, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".partial", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, src.fs.open_input_stream(src.fs_path) as fh:
            shutil.copyfileobj(fh, out)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
