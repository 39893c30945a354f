"""Scan a library folder into the track catalog and diff it against the previous scan.

The scan reads no audio for files it already knows: a file whose path, size and mtime match the
previous catalog is carried over as is. A file whose size or mtime changed is hashed whole
(streaming): the same digest means touched or moved (no reprocessing), another digest means edited,
even when the size and the head/tail ``track_id`` are unchanged. Only new or edited content is probed
(header) and tagged. New, edited, forced and retried tracks are grouped into new ingest batches.
Tracks not found are kept and marked ``missing`` (see :mod:`dj_pipeline.catalog.lifecycle`).
"""

from __future__ import annotations

import os
from collections import namedtuple
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from dj_pipeline.audio import AUDIO_EXTENSIONS, AudioDecodeError, probe
from dj_pipeline.catalog.admission import too_short
from dj_pipeline.catalog.hashing import content_id, file_digest
from dj_pipeline.catalog.lifecycle import ScanOptions, check_library_available, missing_rows, should_retry, under_any, value
from dj_pipeline.catalog.tags import read_tags
from dj_pipeline.config.ingest import IngestConfig
from dj_pipeline.errors import LibraryUnavailableError, os_error_words
from dj_pipeline.storage.tables import ERROR_COLUMNS, error_row

CATALOG_COLUMNS = [
    "track_id", "path", "rel_path", "filename", "format", "size_bytes", "mtime", "duration_s",
    "sample_rate", "channels", "artist", "title", "album", "genre", "tag_bpm", "tag_key",
    "content_hash", "missing", "missing_since", "batch", "first_seen", "scanned_at",
]  # fmt: skip
DIGEST_ID_CHARS = 20  # a track id taken from the whole-file digest when two contents share a head/tail id


@dataclass
class ScanResult:
    """A new catalog, the scan-stage errors, and what changed since the previous scan."""

    catalog: pd.DataFrame
    errors: pd.DataFrame
    new_ids: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    deleted_ids: list[str] = field(default_factory=list)
    missing_ids: list[str] = field(default_factory=list)
    returned_ids: list[str] = field(default_factory=list)
    retried_ids: list[str] = field(default_factory=list)
    unchanged: int = 0
    rehashed: int = 0
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    unreadable_dirs: list[str] = field(default_factory=list)
    new_batches: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.new_ids or self.changed_ids or self.deleted_ids or self.missing_ids or self.returned_ids)

    def summary(self) -> dict[str, int]:
        return {
            "tracks": len(self.catalog),
            "new": len(self.new_ids),
            "changed": len(self.changed_ids),
            "deleted": len(self.deleted_ids),
            "missing": len(self.missing_ids),
            "returned": len(self.returned_ids),
            "retried": len(self.retried_ids),
            "unchanged": self.unchanged,
            "rehashed": self.rehashed,
            "duplicates": len(self.duplicates),
            "errors": len(self.errors),
            "unreadable_dirs": len(self.unreadable_dirs),
            "new_batches": len(self.new_batches),
        }


@dataclass
class _Listing:
    files: list[str]
    odd_dirs: list[Path]
    unreadable_dirs: list[tuple[Path, str]]


def _list_library(root: Path) -> _Listing:
    """The audio files under ``root`` (by extension), as path strings in ``Path`` order.

    Strings, not ``Path`` objects: a library of 50,000 files is listed on every ingest, and building
    a ``Path`` per file was most of a no-op ingest's scan.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"library folder not found: {root}")
    listing = _Listing([], [], [])

    def unreadable(exc: OSError) -> None:
        listing.unreadable_dirs.append((Path(exc.filename), os_error_words(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for d in dirnames:
            if os.path.splitext(d)[1].lower() in AUDIO_EXTENSIONS:
                listing.odd_dirs.append(Path(dirpath) / d)
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                listing.files.append(os.path.join(dirpath, name))
    listing.files.sort(key=lambda f: f.split(os.sep))  # the order of the Path objects (component-wise)
    listing.odd_dirs.sort()
    return listing


def find_audio_paths(root: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """Audio files under ``root`` (by extension, sorted) and directories named like audio files."""
    listing = _list_library(Path(root))
    return [Path(f) for f in listing.files], listing.odd_dirs


def scan_library(
    root: str | os.PathLike,
    previous: pd.DataFrame,
    previous_errors: pd.DataFrame,
    config: IngestConfig,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    options: ScanOptions | None = None,
) -> ScanResult:
    """Scan ``root`` against the previous catalog and errors and assign new batches. Reads no audio data.

    ``previous_errors``: the current ``ingest_errors`` rows (scan and batch stages). Raises
    :class:`LibraryUnavailableError` (and changes nothing) when the library or a folder of it is gone.
    """
    now = now or datetime.now(timezone.utc)
    options = options or ScanOptions()
    root = Path(root).resolve()
    try:
        listing = _list_library(root)
    except FileNotFoundError:
        raise LibraryUnavailableError(f"library folder not found: {root} (drive not mounted?): nothing changed") from None
    scan = _Scan(root, previous, previous_errors, config, now, options, set(listing.files))
    stats = {path: _stat(path) for path in listing.files}
    to_hash = [p for p, st in stats.items() if not isinstance(st, OSError) and scan.needs_hashing(p, st)]
    # new and changed files are read whole for their digest: a few threads read and hash ahead of the
    # loop (hashlib and file reads release the GIL), which takes them in listing order
    with ThreadPoolExecutor(max_workers=max(1, min(config.hash_threads, len(to_hash)))) as pool:
        scan.digests = {p: pool.submit(_digests, p, config.hash_chunk_bytes) for p in to_hash}
        for i, path in enumerate(listing.files):
            if progress:
                progress(i, len(listing.files))
            scan.add_file(path, stats[path])
    for d in listing.odd_dirs:
        scan.errors.append(scan.error(d, "is a directory named like an audio file, not a file"))
    for d, reason in listing.unreadable_dirs:
        scan.errors.append(scan.error(d, f"cannot list folder ({reason})", transient=True))
    return scan.finish(listing)


def records(df: pd.DataFrame) -> list[tuple]:
    """``list(df.itertuples(index=False))``, built column by column: itertuples boxes every
    timestamp on its own, a second per 50,000 catalog rows (three datetime columns)."""
    if df.empty:
        return []
    row = namedtuple("Pandas", [str(c) for c in df.columns], rename=True)  # noqa: PYI024 - as itertuples names it
    return list(map(row._make, zip(*(df[c].tolist() for c in df.columns))))


def _stat(path: str) -> os.stat_result | OSError:
    try:
        return os.stat(path)
    except OSError as exc:
        return exc


def _digests(path: str, chunk_bytes: int) -> tuple[str, str]:
    """``(content id, content hash)`` of a file: its head-and-tail id and the digest of every byte."""
    return content_id(path, chunk_bytes), file_digest(path)


class _Scan:
    """The state of one scan: previous rows by path and id, the rows and errors found so far."""

    def __init__(self, root: Path, previous: pd.DataFrame, previous_errors: pd.DataFrame, config: IngestConfig,
                 now: datetime, options: ScanOptions, current_paths: set[str]) -> None:  # fmt: skip
        self.root, self.config, self.now, self.options, self.current_paths = root, config, now, options, current_paths
        self.root_prefix = os.path.join(str(root), "")  # rel_path = the path after it
        prev = records(previous)
        self.prev_by_path = {r.path: r for r in prev}
        self.prev_by_id = {r.track_id: r for r in prev}
        errs = records(previous_errors)
        self.prev_scan_err = {r.path: r for r in errs if r.stage == "scan"}
        self.batch_err = [r for r in errs if r.stage not in ("scan", "roles")]
        self.rows: dict[str, dict] = {}
        self.errors: list[dict] = []
        self.rebatch: set[str] = set()  # kept ids analysed again: edited, forced or retried
        self.digests: dict[str, Future] = {}  # (content id, digest) of new and changed files, hashed ahead
        self.result = ScanResult(catalog=pd.DataFrame(), errors=pd.DataFrame())

    def error(self, path: str | Path, message: str, st: os.stat_result | None = None, transient: bool = False) -> dict:
        old = self.prev_scan_err.get(str(path))
        same = old is not None and old.error == message
        retries = int(value(old, "retries", 0)) + 1 if old is not None and transient else 0
        return error_row(str(path), "scan", message, old.first_seen if same else self.now, self.now,
                         size_bytes=st.st_size if st else None, mtime=st.st_mtime if st else None,
                         transient=transient, retries=retries)  # fmt: skip

    def _kept_error(self, key: str, st: os.stat_result) -> Any:
        """The previous scan error of an unchanged file that is not retried this time, else ``None``."""
        old_err = self.prev_scan_err.get(key)
        unchanged_err = old_err is not None and old_err.size_bytes == st.st_size and old_err.mtime == st.st_mtime
        return old_err if unchanged_err and not should_retry(old_err, self.options, self.config) else None

    def needs_hashing(self, key: str, st: os.stat_result) -> bool:
        """Whether :meth:`add_file` reads the file whole: new, changed (size or mtime) or forced."""
        if self._kept_error(key, st) is not None:
            return False
        old = self.prev_by_path.get(key)
        return old is None or old.size_bytes != st.st_size or old.mtime != st.st_mtime or self.options.forced(key)

    def add_file(self, key: str, st: os.stat_result | OSError) -> None:
        """The catalog row (or scan error) of the file at ``key`` (an absolute path under the root)."""
        if isinstance(st, OSError):
            self.errors.append(self.error(key, f"cannot stat file ({os_error_words(st)})", transient=True))
            return
        old_err = self._kept_error(key, st)
        if old_err is not None:
            self.errors.append(self.error(key, old_err.error, st, transient=bool(value(old_err, "transient", False))) | {
                "retries": int(value(old_err, "retries", 0))})  # fmt: skip
            return
        if not self.needs_hashing(key, st):
            row = self.prev_by_path[key]._asdict()
        else:
            row = self._hashed_row(Path(key), st, self.options.forced(key))
            if row is None:
                return
        row.update(path=key, rel_path=key[len(self.root_prefix) :], filename=os.path.basename(key), scanned_at=self.now,
                   missing=False, missing_since=None)  # fmt: skip
        if row["track_id"] in self.rows:
            self.result.duplicates.append((key, self.rows[row["track_id"]]["path"]))
            return
        self.rows[row["track_id"]] = row

    def _hashed_row(self, path: Path, st: os.stat_result, forced: bool) -> dict | None:
        """The row of a file whose size or mtime changed (or that is forced): hashed whole, probed if edited."""
        try:
            ahead = self.digests.pop(str(path), None)
            tid, digest = ahead.result() if ahead is not None else _digests(str(path), self.config.hash_chunk_bytes)
        except OSError as exc:
            self.errors.append(self.error(path, f"cannot read file ({os_error_words(exc)})", st, transient=True))
            return None
        self.result.rehashed += 1
        known = self.prev_by_id.get(tid)
        known_digest = value(known, "content_hash") if known is not None else None
        if known is not None and not forced and known_digest in (None, digest):  # touched, moved or renamed
            return known._asdict() | {"path": str(path), "mtime": st.st_mtime, "size_bytes": st.st_size, "content_hash": digest}
        if known is not None and known.path != str(path) and known.path in self.current_paths and known_digest != digest:
            tid = digest[:DIGEST_ID_CHARS]  # another file with the same head and tail: not the same track
            known = self.prev_by_id.get(tid)
        try:
            row = _new_row(path, tid, st, self.root, self.config) | {"content_hash": digest}
        except AudioDecodeError as exc:
            self.errors.append(self.error(path, str(exc), st, transient=not path.is_file()))
            return None
        if known is not None:  # edited in place (or forced): same track, analysed again in a new batch
            row["first_seen"] = value(known, "first_seen", self.now)
            self.rebatch.add(tid)
        else:
            row["first_seen"] = self.now
        return row

    def _retry_failed_tracks(self) -> None:
        """Kept tracks whose batch error is worth another try join a new batch (their old rows are ignored)."""
        for err in self.batch_err:
            tid = value(err, "track_id")
            if tid in self.rows and self.rows[tid].get("batch") == value(err, "batch") and should_retry(err, self.options, self.config):
                self.rebatch.add(tid)
                self.result.retried_ids.append(tid)
        self.result.retried_ids = sorted(set(self.result.retried_ids))

    def _keep_lost_tracks(self, listing: _Listing) -> None:
        unreadable = [d for d, _ in listing.unreadable_dirs]
        self.result.unreadable_dirs = [str(d) for d in unreadable]
        lost = [r for tid, r in self.prev_by_id.items() if tid not in self.rows and r.path not in self.current_paths]
        for r in [r for r in lost if under_any(r.path, unreadable)]:  # an unreadable folder is not a deleted one
            self.rows[r.track_id] = r._asdict()
        lost_df = pd.DataFrame([r._asdict() for r in lost if not under_any(r.path, unreadable)], columns=CATALOG_COLUMNS)
        newly_lost = lost_df[~lost_df["missing"].fillna(False).astype(bool)] if not lost_df.empty else lost_df
        check_library_available(self.root, len(listing.files), newly_lost, self.options)
        kept, self.result.deleted_ids = missing_rows(lost_df, self.options, self.config, self.now)
        for row in kept:
            self.rows[row["track_id"]] = row
        self.result.missing_ids = sorted(set(newly_lost["track_id"]) - set(self.result.deleted_ids))

    def finish(self, listing: _Listing) -> ScanResult:
        self._retry_failed_tracks()
        self._keep_lost_tracks(listing)
        result = self.result
        for tid, row in self.rows.items():
            old = self.prev_by_id.get(tid)
            if row.get("missing"):
                continue
            if old is not None and value(old, "missing", False):
                result.returned_ids.append(tid)
            if old is None and row["path"] not in self.prev_by_path:
                result.new_ids.append(tid)
            elif old is None or tid in self.rebatch:
                result.changed_ids.append(tid)
            else:
                result.unchanged += 1
        # an id that vanished while its path now holds other bytes was *changed*, not deleted (above)
        result.new_batches = assign_batches(self.rows, result.new_ids + result.changed_ids, self.config.max_batch_size, self.now)
        result.catalog = pd.DataFrame(list(self.rows.values()), columns=CATALOG_COLUMNS)
        result.catalog["missing"] = result.catalog["missing"].fillna(False).astype(bool)
        result.catalog["missing_since"] = pd.to_datetime(result.catalog["missing_since"], utc=True)
        result.errors = pd.DataFrame(self.errors, columns=ERROR_COLUMNS)
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


def _new_row(path: Path, tid: str, st: os.stat_result, root: Path, config: IngestConfig) -> dict:
    info = probe(path)
    reason = too_short(info.duration_s, config)
    if reason is not None:
        raise AudioDecodeError(reason)
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
