"""Atomic Parquet writes (temp file + fsync + rename) and tolerant multi-file reads."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: reading the data dir's layout must not cost pandas' import
    import pandas as pd
    import pyarrow as pa


def write_parquet_atomic(data: pd.DataFrame | pa.Table, path: str | os.PathLike, schema: pa.Schema | None = None) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The table goes to a temp file in the same directory, is fsynced, then ``os.replace``-d over the
    target (atomic on POSIX). A process killed mid-write leaves only a ``.tmp-*`` file, which
    :func:`list_batch_files` ignores and the next write of the same asset cleans up.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, schema=schema, preserve_index=False)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".partial", dir=path.parent)
    try:
        os.fchmod(fd, default_file_mode())  # mkstemp makes 0600; a table is as readable as any file the user writes
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def default_file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def list_batch_files(asset_dir: str | os.PathLike) -> list[Path]:
    """Finished Parquet files of an asset folder (temp files of killed writes are skipped)."""
    d = Path(asset_dir)
    if not d.is_dir():
        return []
    return sorted(p for p in d.glob("*.parquet") if not p.name.startswith(".tmp-"))


def read_parquet_files(files: Iterable[Path], columns: list[str] | None = None) -> pd.DataFrame:
    """Concatenate Parquet files into one frame (empty frame when there are none)."""
    import pandas as pd
    import pyarrow.parquet as pq

    frames = [pq.read_table(f, columns=columns).to_pandas() for f in files]
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame(columns=columns or [])
    return pd.concat(frames, ignore_index=True)


def clean_stale_temp_files(root: str | os.PathLike, older_than_s: float = 3600.0) -> int:
    """Remove ``.tmp-*`` files under ``root`` left by killed writers; returns how many were removed.

    Only files older than ``older_than_s`` go, so a writer still running in another process keeps
    its temp file.
    """
    import time

    d = Path(root)
    cutoff = time.time() - older_than_s
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
