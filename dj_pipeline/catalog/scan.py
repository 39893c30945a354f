"""Scan a library folder into the track catalog and diff it against the previous scan.

The scan reads no audio for files it already knows: a file whose path, size and mtime match the
previous catalog is carried over as is; a touched file (new mtime) costs one content-id read
(two 64 KiB chunks) and keeps its id when the bytes are the same. Only new content is probed
(header) and tagged. New and changed tracks are grouped into ingest batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from dj_pipeline.audio import AUDIO_EXTENSIONS, AudioDecodeError, probe
from dj_pipeline.catalog.hashing import content_id
from dj_pipeline.catalog.tags import read_tags
from dj_pipeline.config.ingest import IngestConfig
from dj_pipeline.storage.tables import ERROR_COLUMNS, error_row

CATALOG_COLUMNS = [
    "track_id", "path", "rel_path", "filename", "format", "size_bytes", "mtime", "duration_s",
    "sample_rate", "channels", "artist", "title", "album", "genre", "tag_bpm", "tag_key",
    "batch", "first_seen", "scanned_at",
]  # fmt: skip


@dataclass
class ScanResult:
    """A new catalog, the scan-stage errors, and what changed since the previous scan."""

    catalog: pd.DataFrame
    errors: pd.DataFrame
    new_ids: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    unchanged: int = 0
    rehashed: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    new_batches: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.new_ids or self.changed_ids or self.deleted_ids)

    def summary(self) -> dict[str, int]:
        return {
            "tracks": len(self.catalog),
            "new": len(self.new_ids),
            "changed": len(self.changed_ids),
            "deleted": len(self.deleted_ids),
            "unchanged": self.unchanged,
            "rehashed": self.rehashed,
            "duplicates": len(self.duplicates),
            "errors": len(self.errors),
            "new_batches": len(self.new_batches),
        }


def find_audio_paths(root: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """Audio files under ``root`` (by extension, sorted) and directories named like audio files."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"library folder not found: {root}")
    files: list[Path] = []
    odd_dirs: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            if Path(d).suffix.lower() in AUDIO_EXTENSIONS:
                odd_dirs.append(Path(dirpath) / d)
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                files.append(Path(dirpath) / name)
    return sorted(files), sorted(odd_dirs)


def scan_library(
    root: str | os.PathLike,
    previous: pd.DataFrame,
    previous_errors: pd.DataFrame,
    config: IngestConfig,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan ``root`` against the previous catalog/errors and assign new batches. Reads no audio data."""
    now = now or datetime.now(timezone.utc)
    root = Path(root).resolve()
    files, odd_dirs = find_audio_paths(root)
    prev_by_path = {r.path: r for r in previous.itertuples(index=False)} if not previous.empty else {}
    prev_by_id = {r.track_id: r for r in previous.itertuples(index=False)} if not previous.empty else {}
    prev_err = {r.path: r for r in previous_errors.itertuples(index=False)} if not previous_errors.empty else {}

    rows: dict[str, dict] = {}
    errors: list[dict] = [_error_row(d, "is a directory named like an audio file, not a file", now, prev_err) for d in odd_dirs]
    result = ScanResult(catalog=pd.DataFrame(), errors=pd.DataFrame())
    for i, path in enumerate(files):
        if progress:
            progress(i, len(files))
        key = str(path)
        try:
            st = path.stat()
        except OSError as exc:
            errors.append(_error_row(path, f"cannot stat file ({exc.strerror})", now, prev_err))
            continue
        old_err = prev_err.get(key)
        if old_err is not None and old_err.size_bytes == st.st_size and old_err.mtime == st.st_mtime:
            errors.append(_error_row(path, old_err.error, now, prev_err, st))  # unchanged bad file: not retried
            continue
        old = prev_by_path.get(key)
        if old is not None and old.size_bytes == st.st_size and old.mtime == st.st_mtime:
            row = old._asdict()
        else:
            try:
                tid = content_id(path, config.hash_chunk_bytes)
            except OSError as exc:
                errors.append(_error_row(path, f"cannot read file ({exc.strerror})", now, prev_err, st))
                continue
            result.rehashed += 1
            known = prev_by_id.get(tid)
            if known is not None:  # same bytes: touched, moved or renamed -> no reprocessing
                row = known._asdict() | {"path": key, "mtime": st.st_mtime, "size_bytes": st.st_size}
            else:
                try:
                    row = _new_row(path, tid, st, root, config)
                except AudioDecodeError as exc:
                    errors.append(_error_row(path, str(exc), now, prev_err, st))
                    continue
                row["first_seen"] = now
        row.update(path=key, rel_path=str(path.relative_to(root)), filename=path.name, scanned_at=now)
        if row["track_id"] in rows:
            result.duplicates.append((key, rows[row["track_id"]]["path"]))
            continue
        rows[row["track_id"]] = row
    _classify(result, rows, prev_by_id, prev_by_path)
    result.new_batches = assign_batches(rows, result.new_ids + result.changed_ids, config.max_batch_size, now)
    result.catalog = pd.DataFrame(list(rows.values()), columns=CATALOG_COLUMNS)
    result.errors = pd.DataFrame(errors, columns=ERROR_COLUMNS)
    return result


def assign_batches(rows: dict[str, dict], ids: list[str], max_batch_size: int, now: datetime) -> list[str]:
    """Group ``ids`` (sorted by path) into batches of at most ``max_batch_size``; returns batch keys.

    Keys are ``<scan time>-<n>`` so they never collide with an earlier batch, even one whose tracks
    were all deleted since.
    """
    ordered = sorted(ids, key=lambda t: rows[t]["path"])
    stamp = now.strftime("%Y%m%dT%H%M%S")
    keys: list[str] = []
    for n, start in enumerate(range(0, len(ordered), max_batch_size)):
        key = f"{stamp}-{n:03d}"
        keys.append(key)
        for tid in ordered[start : start + max_batch_size]:
            rows[tid]["batch"] = key
    return keys


def _classify(result: ScanResult, rows: dict[str, dict], prev_by_id: dict, prev_by_path: dict) -> None:
    for tid, row in rows.items():
        if tid in prev_by_id:
            result.unchanged += 1
        elif row["path"] in prev_by_path:
            result.changed_ids.append(tid)
        else:
            result.new_ids.append(tid)
    current_paths = {row["path"] for row in rows.values()}
    # an id that vanished while its path now holds other bytes was *changed*, not deleted
    result.deleted_ids = sorted(t for t in set(prev_by_id) - set(rows) if prev_by_id[t].path not in current_paths)


def _new_row(path: Path, tid: str, st: os.stat_result, root: Path, config: IngestConfig) -> dict:
    info = probe(path)
    if info.duration_s < config.min_duration_s:
        raise AudioDecodeError(f"too short: {info.duration_s:.2f}s (minimum {config.min_duration_s:g}s)")
    return {
        "track_id": tid,
        "format": info.format,
        "size_bytes": st.st_size,
        "mtime": st.st_mtime,
        "duration_s": round(info.duration_s, 3),
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        **read_tags(path),
    }


def _error_row(path: Path, error: str, now: datetime, prev_err: dict, st: os.stat_result | None = None) -> dict:
    old = prev_err.get(str(path))
    first = old.first_seen if old is not None and old.error == error else now
    return error_row(str(path), "scan", error, first, now, size_bytes=st.st_size if st else None, mtime=st.st_mtime if st else None)
