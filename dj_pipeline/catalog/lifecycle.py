"""What a scan does with tracks it did not find, and which failed tracks it gives another try.

Missing is not deleted: a track whose file is gone keeps its catalog row and its analysis, marked
``missing`` (as DJ software shows missing files), and comes back without re-analysis when a file
with its content id reappears. It is dropped only deliberately: ``--allow-deletions``, or missing
for longer than ``ingest.yaml: delete_missing_after_days``. When the whole library looks gone (the
root holds no audio file) or a whole folder vanished, the scan stops and changes nothing: that is an
unplugged drive or a renamed mount far more often than a DJ deleting a crate.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from dj_pipeline.config.ingest import IngestConfig
from dj_pipeline.errors import LibraryUnavailableError

# Messages recorded before errors carried a ``transient`` flag that were transient all the same.
LEGACY_TRANSIENT_PREFIXES = ("file does not exist", "internal error", "cannot stat file", "cannot read file")


@dataclass(frozen=True)
class ScanOptions:
    """What the person running the ingest asked for beyond the incremental default.

    ``force_paths``: ``None`` forces nothing; an empty tuple forces every track; otherwise the
    files and folders (absolute) whose tracks are analysed again even though they did not change.
    """

    retry_errors: bool = False
    force_paths: tuple[str, ...] | None = None
    allow_deletions: bool = False

    def forced(self, path: str) -> bool:
        if self.force_paths is None:
            return False
        return not self.force_paths or any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in self.force_paths)


def value(row: Any, name: str, default: Any = None) -> Any:
    """``row.name`` for a catalog/error row that may predate the column; NA reads as ``default``."""
    v = getattr(row, name, default)
    return default if v is None or (not isinstance(v, str | bytes) and pd.isna(v)) else v


def was_transient(row: Any) -> bool:
    """Whether a recorded error is transient (rows without the flag: judged by their message)."""
    flag = value(row, "transient")
    if flag is not None:
        return bool(flag)
    return str(value(row, "error", "")).startswith(LEGACY_TRANSIENT_PREFIXES)


def should_retry(error_row: Any, options: ScanOptions, config: IngestConfig) -> bool:
    """A recorded error is tried again when asked to, or when transient and not retried too often."""
    if options.retry_errors or options.forced(str(error_row.path)):
        return True
    return was_transient(error_row) and int(value(error_row, "retries", 0)) < config.max_transient_retries


def under_any(path: str, folders: Iterable[Path]) -> bool:
    p = Path(path)
    return any(p == d or d in p.parents for d in folders)


def vanished_folders(paths: Iterable[str]) -> list[str]:
    """The distinct parent folders of ``paths`` that no longer exist, sorted."""
    return sorted({str(Path(p).parent) for p in paths if not Path(p).parent.exists()})


def check_library_available(root: Path, n_files_found: int, lost: pd.DataFrame, options: ScanOptions) -> None:
    """Raise :class:`LibraryUnavailableError` when ``lost`` tracks point at an unmounted library or folder.

    ``lost``: previous catalog rows (not already missing) that this scan found nowhere. Nothing is
    raised with ``--allow-deletions`` or when the lost files' folders are all still there.
    """
    if lost.empty or options.allow_deletions:
        return
    hint = f"{len(lost)} track(s) and their analysis were kept; nothing changed (pass --allow-deletions to remove them)"
    if n_files_found == 0:
        raise LibraryUnavailableError(f"library folder {root} holds no audio files (drive not mounted?): {hint}")
    gone = vanished_folders(lost["path"])
    if gone:
        raise LibraryUnavailableError(f"{len(gone)} folder(s) vanished from the library (first: {gone[0]}): {hint}")


def missing_rows(lost: pd.DataFrame, options: ScanOptions, config: IngestConfig, now: datetime) -> tuple[list[dict], list[str]]:
    """Rows kept (marked missing) and track ids deleted, for previous tracks this scan did not find."""
    kept: list[dict] = []
    deleted: list[str] = []
    max_age = None if config.delete_missing_after_days is None else timedelta(days=config.delete_missing_after_days)
    for row in lost.itertuples(index=False):
        since = value(row, "missing_since") if value(row, "missing", False) else None
        since = now if since is None else pd.Timestamp(since).to_pydatetime()
        if options.allow_deletions or (max_age is not None and now - since > max_age):
            deleted.append(row.track_id)
        else:
            kept.append(row._asdict() | {"missing": True, "missing_since": since})
    return kept, sorted(deleted)
