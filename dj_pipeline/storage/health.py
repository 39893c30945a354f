"""Is a Parquet output still what was written? Find damaged table files and set them aside.

Bit rot, a bad copy from a USB stick or a truncating tool can damage a file that was written
atomically. A file is *damaged* when its footer cannot be read, when it cannot be read in full
(``deep``), or when its row count differs from the count recorded when it was written. A damaged
file is moved to ``<data>/damaged/<asset>/`` (kept, for a person to look at; never read again), so
the ingest sees its batch as missing and redoes it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from dj_pipeline.storage.fs import AnyPath, move_out, parquet_file, read_arrow_table
from dj_pipeline.storage.parquet import list_batch_files
from dj_pipeline.storage.paths import DataPaths

DAMAGED_DIR = "damaged"
SUSPECTS_FILE = "suspects.txt"  # files a reader had to skip, one path a line: the next ingest checks them in full
BATCH_PREFIX = "batch="
ERRORS_SEPARATOR = "__batch="  # ingest_errors/<stage>__batch=<key>.parquet


@dataclass(frozen=True)
class DamagedFile:
    """A table file that failed its check, where it was moved, and why."""

    asset: str
    path: AnyPath
    moved_to: Path | None
    reason: str
    batch: str | None
    stage: str | None = None

    def describe(self) -> str:
        where = f" (moved to {self.moved_to})" if self.moved_to else ""
        return f"{self.path}: {self.reason}{where}"


def parquet_problem(path: str | os.PathLike | AnyPath, expected_rows: int | None = None, deep: bool = False) -> str | None:
    """Why ``path`` is not a sound Parquet file, or ``None`` when it is.

    Reads the footer (cheap); with ``deep`` also decodes every page; compares the row count with
    ``expected_rows`` when one was recorded.
    """
    import pyarrow as pa

    from dj_pipeline.storage.fs import as_table_path

    path = as_table_path(path)
    try:
        meta = parquet_file(path).metadata
        if deep:
            read_arrow_table(path)
    except (OSError, pa.ArrowException) as exc:
        return f"unreadable ({first_line(exc)})"
    if expected_rows is not None and meta.num_rows != expected_rows:
        return f"{meta.num_rows} rows where {expected_rows} were written"
    return None


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:160] if lines else type(exc).__name__


def batch_of(path: AnyPath) -> tuple[str | None, str | None]:
    """``(stage or None, batch key or None)`` from a batch file name (``batch=K`` or ``<stage>__batch=K``)."""
    stem = path.stem
    if stem.startswith(BATCH_PREFIX):
        return None, stem[len(BATCH_PREFIX) :]
    if ERRORS_SEPARATOR in stem:
        stage, batch = stem.split(ERRORS_SEPARATOR, 1)
        return stage, batch
    return None, None


def set_aside(paths: DataPaths, asset: str, path: AnyPath, now: datetime | None = None) -> Path:
    """Move a damaged file out of the tables, into ``damaged/<asset>/<name>.<utc time>``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S")
    target = paths.root / DAMAGED_DIR / asset / f"{path.name}.{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    move_out(path, target)  # the tables may be on another filesystem than the data dir (issue 17)
    return target


def find_damaged(
    paths: DataPaths, assets: Iterable[str], recorded_rows: dict[tuple[str, str], int] | None = None, deep: bool = False
) -> list[DamagedFile]:
    """Damaged files among the batch files of ``assets`` (nothing is moved)."""
    recorded_rows = recorded_rows or {}
    found: list[DamagedFile] = []
    for asset in assets:
        for f in list_batch_files(paths.asset_dir(asset)):
            stage, batch = batch_of(f)
            expected = recorded_rows.get((asset, batch)) if batch is not None and stage is None else None
            reason = parquet_problem(f, expected, deep)
            if reason is not None:
                found.append(DamagedFile(asset, f, None, reason, batch, stage))
    return found


def set_aside_all(paths: DataPaths, damaged: list[DamagedFile]) -> list[DamagedFile]:
    """Move every damaged file aside; returns them with ``moved_to`` filled in."""
    return [DamagedFile(d.asset, d.path, set_aside(paths, d.asset, d.path), d.reason, d.batch, d.stage) for d in damaged]


def recovered_batches(paths: DataPaths, asset: str, errors_asset: str, stage: str) -> dict[str, str]:
    """``track_id -> batch`` from the readable batch files of ``asset`` and ``stage``'s error files.

    Rebuilds a lost catalog's batch column: each track goes to the latest batch (keys sort by
    time) that processed it, so its analysis is found again instead of being redone.
    """
    files = list_batch_files(paths.asset_dir(asset))
    files += [f for f in list_batch_files(paths.asset_dir(errors_asset)) if batch_of(f)[0] == stage]
    best: dict[str, str] = {}
    for f in files:
        if parquet_problem(f) is not None:
            continue
        try:
            table = read_arrow_table(f, columns=["track_id", "batch"])
        except Exception:  # noqa: BLE001 - a file that cannot be read in full recovers nothing
            continue
        for track_id, batch in zip(table.column("track_id").to_pylist(), table.column("batch").to_pylist()):
            if track_id is not None and batch is not None and batch > best.get(track_id, ""):
                best[track_id] = batch
    return best


def note_suspect(path: Path) -> None:
    """Remember a table file a reader could not read (best effort: a read-only data dir remembers nothing)."""
    root = _data_root_of(path)
    if root is None:
        return
    try:
        (root / DAMAGED_DIR).mkdir(exist_ok=True)
        with (root / DAMAGED_DIR / SUSPECTS_FILE).open("a", encoding="utf-8") as fh:
            fh.write(f"{path}\n")
    except OSError:
        pass


def read_suspects(root: Path) -> list[Path]:
    f = root / DAMAGED_DIR / SUSPECTS_FILE
    if not f.exists():
        return []
    return sorted({Path(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()})


def clear_suspects(root: Path) -> None:
    (root / DAMAGED_DIR / SUSPECTS_FILE).unlink(missing_ok=True)


def _data_root_of(path: Path) -> Path | None:
    """``<root>`` of a ``<root>/parquet/<asset>/<file>`` path, ``None`` for a file elsewhere."""
    parents = Path(path).absolute().parents
    return parents[2] if len(parents) > 2 and parents[1].name == "parquet" else None
