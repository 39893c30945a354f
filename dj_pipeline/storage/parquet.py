"""Atomic Parquet writes (temp file + fsync + rename) and tolerant multi-file reads."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from dj_pipeline.storage.fs import AnyPath, TablePath, as_table_path, parquet_file, read_arrow_table

if TYPE_CHECKING:  # imported where used: reading the data dir's layout must not cost pandas' import
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)


def write_parquet_atomic(data: pd.DataFrame | pa.Table, path: str | os.PathLike | TablePath, schema: pa.Schema | None = None) -> AnyPath:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The table goes to a temp file in the same directory, is fsynced, then ``os.replace``-d over the
    target (atomic on POSIX). A process killed mid-write leaves only a ``.tmp-*`` file, which
    :func:`list_batch_files` ignores and the next write of the same asset cleans up. On a remote
    filesystem (:class:`~dj_pipeline.storage.fs.TablePath`) see :func:`_write_remote_atomic`.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, schema=schema, preserve_index=False)
    if isinstance(path, TablePath):
        return _write_remote_atomic(table, path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp makes 0600; a table is as readable as any file the user writes
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, permission, I/O: say which file could not be written
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is not None:
            raise
        raise OSError(exc.errno or errno.EIO, exc.strerror or str(exc), str(path)) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _write_remote_atomic(table: pa.Table, path: TablePath) -> TablePath:
    """Write to a unique ``.tmp-<uuid>.partial`` key beside ``path``, then move it over ``path``.

    On an object store a move is a server-side copy of the whole object then a delete of the temp
    key, so the final key appears whole (old or new object, never half); readers skip ``.tmp-*``
    keys, and a writer killed before the move leaves only such a key (:func:`clean_stale_temp_files`).
    """
    import uuid

    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{uuid.uuid4().hex}.partial"
    try:
        with path.fs.open_output_stream(tmp.fs_path) as out:
            pq.write_table(table, out, compression="zstd")
        path.fs.move(tmp.fs_path, path.fs_path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - the store is gone; the stale key is cleaned later
            pass
        raise
    return path


def default_file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def list_batch_files(asset_dir: str | os.PathLike | TablePath) -> list[AnyPath]:
    """Finished Parquet files of an asset folder (temp files of killed writes are skipped)."""
    d = as_table_path(asset_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".tmp-"))


def read_parquet_files(files: Iterable[AnyPath], columns: list[str] | None = None, skip_damaged: bool = True) -> pd.DataFrame:
    """Concatenate Parquet files into one frame (empty frame when there are none).

    A damaged file (unreadable footer or pages: bit rot, a bad copy) is skipped with a warning
    naming it, so one bad batch costs its tracks, not the whole table; ``dj ingest`` redoes it
    (:mod:`dj_pipeline.storage.health`). ``skip_damaged=False`` raises :class:`DamagedTableError`.
    A requested column missing from a sound file still raises, as before.
    """
    import pandas as pd

    frames = []
    for f in files:
        table = _read_table(as_table_path(f), columns, skip_damaged)
        if table is not None and len(table.columns):
            frames.append(table.to_pandas())
    if not frames:
        return pd.DataFrame(columns=columns or [])
    return pd.concat(frames, ignore_index=True)


class DamagedTableError(OSError):
    """A Parquet file of the data directory cannot be read (``filename`` names it)."""


def _read_table(path: AnyPath, columns: list[str] | None, skip_damaged: bool):  # noqa: ANN202 - pyarrow Table | None
    import pyarrow as pa

    try:
        return read_arrow_table(path, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        if columns is not None and _footer_lacks(path, columns):
            raise  # a sound file without a requested column: a caller's error, not damage
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if not skip_damaged:
            raise DamagedTableError(errno.EIO, f"damaged table file ({reason}); `dj ingest` repairs it", str(path)) from exc
        log.warning("skipped damaged table file %s (%s); the next `dj ingest` redoes it", path, reason)
        from dj_pipeline.storage.health import note_suspect

        if isinstance(path, Path):  # the list names local files; the next ingest's footer check still finds a remote one
            note_suspect(path)
        return None


def _footer_lacks(path: AnyPath, columns: list[str]) -> bool:
    import pyarrow as pa

    try:
        names = set(parquet_file(path).schema_arrow.names)
    except (OSError, pa.ArrowException):
        return False
    return any(c not in names for c in columns)


def clean_stale_temp_files(root: str | os.PathLike | TablePath, older_than_s: float = 3600.0) -> int:
    """Remove ``.tmp-*`` files under ``root`` left by killed writers; returns how many were removed.

    Only files older than ``older_than_s`` go, so a writer still running in another process keeps
    its temp file.
    """
    import time

    cutoff = time.time() - older_than_s
    if isinstance(root, TablePath):  # a key whose age the store does not report is left alone
        stale = [p for p, mtime in root.files_with_mtime(".tmp-*") if mtime is not None and mtime < cutoff]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)
    d = Path(root)
    n = 0
    for p in d.rglob(".tmp-*") if d.is_dir() else []:
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
                n += 1
        except FileNotFoundError:
            continue
    return n


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
