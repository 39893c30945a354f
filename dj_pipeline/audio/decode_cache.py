"""Decode a file once per ingest: a scratch cache of the mono samples the whole-file passes stream.

Four stages of a batch stream every whole track at the analysis rate (the windows' envelope, the
beat grid, the structure envelope, the fingerprints); decoding an MP3/FLAC and resampling it costs
about 0.2 s of CPU per 6-minute track each time. Inside :func:`decode_cache` the first pass that
streams a file also writes the blocks it decoded to a raw float32 file in a scratch folder (written
to a temporary name, renamed when the file is complete), and the later passes read that file
memory-mapped, block by block: the very same samples, so the same results, and memory still bounded
by one block. Only whole blocks of the same length are served; anything else (the features'
windows: a span resampled alone differs in the last bits from one cut out of whole-file blocks) is
decoded as without a cache, so results never depend on a cache hit.

The folder lives in the data dir (not ``/tmp``, which may be RAM), is named after the process that
owns it, and is removed when the block ends (on a thread, while the ingest goes on); a folder left
by a killed process is removed by the next ingest. Entries stop being added past ``max_mb``. The
cache is found through environment variables, so spawned workers (which inherit the environment)
use it too; where the folder cannot be reached or written (a Ray worker on another node, a full
disk) files are simply decoded again.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import pickle
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dj_pipeline.processes import process_alive

ENV_DIR = "DJ_DECODE_CACHE_DIR"
ENV_SR = "DJ_DECODE_CACHE_SR"
ENV_MAX_MB = "DJ_DECODE_CACHE_MAX_MB"
FOLDER_PREFIX = "decoded-"
MAX_SHARE_OF_FREE_SPACE = 0.5  # of the scratch disk's free space at the start of a batch, at most
MIN_ROOM_MB = 64.0  # a disk with less room than this for the cache (nearly full): no cache, files decoded per pass
MEMO_SUFFIX = ".memo"
TRASH_MARK = "-done-"  # a finished cache folder being removed: decoded-<pid>-done-<n>
_TRASH_COUNTER = itertools.count()
BlockDecoder = Callable[[str | os.PathLike, int, float], Iterator[tuple[float, np.ndarray]]]


@contextmanager
def decode_cache(scratch_dir: str | os.PathLike, sr: int, max_mb: float) -> Iterator[Path | None]:
    """Cache the decoded audio of whole-file passes at ``sr`` under ``scratch_dir`` for the block.

    ``max_mb <= 0`` turns the cache off (yields ``None``). Folders of dead processes are removed first.
    The cache takes at most :data:`MAX_SHARE_OF_FREE_SPACE` of the disk's free space, so that the
    ingest's own outputs always find room (no cache on a nearly full disk).
    """
    if max_mb <= 0:
        yield None
        return
    scratch = Path(scratch_dir)
    folder = scratch / f"{FOLDER_PREFIX}{os.getpid()}"
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        remove_stale_folders(scratch)
        room_mb = MAX_SHARE_OF_FREE_SPACE * shutil.disk_usage(scratch).free / 1e6
        if room_mb < MIN_ROOM_MB:
            raise OSError("no room for a decode cache")
        max_mb = min(max_mb, room_mb)
        folder.mkdir(exist_ok=True)
    except OSError:
        yield None
        return
    saved = {k: os.environ.get(k) for k in (ENV_DIR, ENV_SR, ENV_MAX_MB)}
    os.environ.update({ENV_DIR: str(folder), ENV_SR: str(int(sr)), ENV_MAX_MB: str(float(max_mb))})
    try:
        yield folder
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        remove_in_background(folder)


def remove_in_background(folder: Path) -> threading.Thread | None:
    """Remove a finished cache folder on a thread: deleting a batch's blocks (gigabytes) takes about a
    second, which the ingest spends on its next step instead. The folder is renamed first, so the
    process's next cache never meets it; the thread is not a daemon, so the interpreter waits for it
    before exiting; a folder left by a killed process is removed by the next ingest
    (:func:`remove_stale_folders`). Where the rename fails the folder is removed here and now."""
    trash = folder.with_name(f"{folder.name}{TRASH_MARK}{next(_TRASH_COUNTER)}")
    try:
        folder.rename(trash)
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    thread = threading.Thread(target=shutil.rmtree, args=(trash,), kwargs={"ignore_errors": True}, name="dj-decode-cache-cleanup")
    thread.start()
    return thread


def remove_stale_folders(scratch: Path) -> None:
    """Remove the cache folders of processes that are no longer alive (a killed ingest), finished
    ones included (``decoded-<pid>-done-<n>``)."""
    if not scratch.is_dir():
        return
    for d in scratch.glob(f"{FOLDER_PREFIX}*"):
        pid = d.name[len(FOLDER_PREFIX) :].split(TRASH_MARK)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(d, ignore_errors=True)


@dataclass(frozen=True)
class ActiveCache:
    folder: Path
    sr: int
    max_bytes: float

    def blocks(self, path: str | os.PathLike, block_s: float, decode: BlockDecoder) -> Iterator[tuple[float, np.ndarray]]:
        """``decode(path, sr, block_s)``'s blocks, from the cache when the file is in it, else
        decoded (and written to the cache on the way when there is room)."""
        entry = self._entry(path)
        cached = _read_entry(entry, block_s) if entry is not None else None
        if cached is not None:
            yield from cached
            return
        writer = _Writer(entry) if entry is not None and self._room() else None
        for start_s, y in decode(path, self.sr, block_s):
            if writer is not None and not writer.add(y, block_s):
                writer = None
            yield start_s, y
        if writer is not None:
            writer.commit()

    def _entry(self, path: str | os.PathLike) -> Path | None:
        return _entry_path(self.folder, path, str(self.sr))

    def _room(self) -> bool:
        return _has_room(self.folder, self.max_bytes)


def active_cache(sr: int) -> ActiveCache | None:
    """The cache of the current ingest when it holds audio at ``sr``, else ``None``."""
    folder = _active_folder()
    if folder is None or os.environ.get(ENV_SR) != str(int(sr)):
        return None
    max_bytes = _max_bytes()
    return ActiveCache(folder, int(sr), max_bytes) if max_bytes > 0 else None


def _active_folder() -> Path | None:
    """The current ingest's cache folder (from the environment, so spawned workers see it), if reachable."""
    folder = os.environ.get(ENV_DIR)
    return Path(folder) if folder and os.path.isdir(folder) else None


def _max_bytes() -> float:
    try:
        return float(os.environ.get(ENV_MAX_MB, "0")) * 1e6
    except ValueError:
        return 0.0


def _has_room(folder: Path, max_bytes: float) -> bool:
    """Whether the files in ``folder`` take less than ``max_bytes``."""
    try:
        used = sum(e.stat().st_size for e in os.scandir(folder) if e.is_file())
    except OSError:
        return False
    return used < max_bytes


def memoized(path: str | os.PathLike, tag: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``compute()`` (named arrays derived from the file at ``path``) once per file per ingest.

    Two stages of a batch derive the very same curves from a file (the windows stage and the
    structure stage both take its envelope; the features and the embedder both read a window's
    samples); inside :func:`decode_cache` the first saves them beside the decoded samples (``tag``
    names the computation and its settings) and the second loads them: the same arrays, bit for
    bit, for a fraction of the cost. Nothing is saved once the folder holds the cache's budget.
    Outside an ingest, or when the entry cannot be read or written, ``compute()`` simply runs.
    """
    folder = _active_folder()
    entry = _entry_path(folder, path, tag) if folder is not None else None  # None too: the file cannot be read
    entry = entry.with_suffix(MEMO_SUFFIX) if entry is not None else None
    saved = _load_memo(entry) if entry is not None else None
    if saved is not None:
        return saved
    result = compute()
    if entry is not None and _has_room(entry.parent, _max_bytes()):
        tmp = entry.with_suffix(MEMO_SUFFIX + ".tmp")
        try:
            with open(tmp, "wb") as fh:  # pickle: a raw copy of the buffers (np.savez's zip CRCs cost as much as a WAV decode)
                pickle.dump({k: np.asarray(v) for k, v in result.items()}, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
        except OSError:
            tmp.unlink(missing_ok=True)
    return result


def _load_memo(entry: Path) -> dict[str, np.ndarray] | None:
    """The arrays a :func:`memoized` entry holds; ``None`` when it is absent or damaged (computed again).
    The entries are this ingest's own files, in a folder only this process's ingest writes to."""
    try:
        with open(entry, "rb") as fh:
            saved = pickle.load(fh)  # noqa: S301 - our own scratch file, written above
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError):
        return None
    if not isinstance(saved, dict) or not all(isinstance(v, np.ndarray) for v in saved.values()):
        return None
    return saved


def _entry_path(folder: Path, path: str | os.PathLike, tag: str) -> Path | None:
    """The cache entry of ``path`` (its absolute name, size and mtime) for ``tag``; ``None`` if unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = f"{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{tag}"
    return folder / hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()


class _Writer:
    """Blocks appended to ``<entry>.tmp``; once the whole file went through, the block lengths are
    saved to ``<entry>.len.npy`` and the samples renamed to ``<entry>``; any OSError drops the entry."""

    def __init__(self, entry: Path) -> None:
        self.entry = entry
        self.lengths: list[int] = []
        self.block_s = 0.0
        try:
            self.fh = open(entry.with_suffix(".tmp"), "wb")  # noqa: SIM115 - closed in commit/drop
        except OSError:
            self.fh = None

    def add(self, y: np.ndarray, block_s: float) -> bool:
        if self.fh is None:
            return False
        try:
            self.fh.write(np.ascontiguousarray(y, dtype=np.float32).tobytes())
        except OSError:
            self._drop()
            return False
        self.lengths.append(int(y.size))
        self.block_s = block_s
        return True

    def commit(self) -> None:
        if self.fh is None:
            return
        try:
            self.fh.close()
            np.save(self.entry.with_suffix(".len.npy"), np.asarray([self.block_s * 1000, *self.lengths], dtype=np.int64))
            os.replace(self.entry.with_suffix(".tmp"), self.entry)
        except OSError:
            self._drop()

    def _drop(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        for p in (self.entry.with_suffix(".tmp"), self.entry.with_suffix(".len.npy")):
            p.unlink(missing_ok=True)


def _open_entry(entry: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The samples (memory-mapped) and the header ``[block_ms, len_0, len_1, ...]`` of an entry."""
    try:
        if not entry.is_file():
            return None
        header = np.load(entry.with_suffix(".len.npy"))
        n = int(header[1:].sum())
        if entry.stat().st_size != 4 * n:  # damaged: decode again
            entry.unlink(missing_ok=True)
            return None
        return (np.memmap(entry, dtype=np.float32, mode="r") if n else np.zeros(0, np.float32)), header
    except (OSError, ValueError):
        return None


def _read_entry(entry: Path, block_s: float) -> Iterator[tuple[float, np.ndarray]] | None:
    """The cached blocks of an entry written with blocks of ``block_s`` (else ``None``: a miss)."""
    opened = _open_entry(entry)
    if opened is None or int(opened[1][0]) != int(block_s * 1000):
        return None
    data, header = opened
    bounds = np.concatenate([[0], np.cumsum(header[1:])])
    return ((k * block_s, np.array(data[bounds[k] : bounds[k + 1]])) for k in range(len(bounds) - 1))
