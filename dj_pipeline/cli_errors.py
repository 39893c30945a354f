"""Turn what a user can cause into one line for the ``dj`` command, before any heavy import.

Two jobs, both cheap (standard library only, so a bad argument is answered in well under a second):

- checks run on arguments before work starts: a data directory that is a file, an output file
  whose folder is missing, a ``--max-rows`` below zero;
- :func:`one_line_error` finds, in an exception and its causes (Dagster wraps a step's error in
  its own), the part a person can act on: a :class:`~dj_pipeline.errors.UserError` message, or an
  ``OSError`` naming the path and what went wrong (disk full, permission denied, ...).
"""

from __future__ import annotations

import argparse
import errno
import os
from pathlib import Path

from dj_pipeline.errors import UserError

# What each OS error means for the person at the keyboard (the strerror alone can be cryptic).
_ERRNO_HINTS = {
    errno.ENOSPC: "the disk is full; free some space and run it again (finished work is kept)",
    errno.EDQUOT: "the disk quota is exhausted; free some space and run it again (finished work is kept)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.ELOOP: "too many levels of symbolic links (a symlink loop?)",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "already exists",
    errno.EIO: "input/output error (a failing drive or a disconnected share?)",
}


def describe_os_error(exc: OSError) -> str:
    """``<path>: <what went wrong>`` for an ``OSError``, without ``[Errno n]``."""
    ours = type(exc).__module__.startswith("dj_pipeline.") and exc.strerror  # our own OSErrors say it best
    hint = exc.strerror if ours else _ERRNO_HINTS.get(exc.errno or -1) or exc.strerror or type(exc).__name__
    where = exc.filename if exc.filename is not None else None
    if exc.filename2 is not None:
        where = f"{exc.filename} -> {exc.filename2}"
    return f"{where}: {hint}" if where is not None else hint


def _sqlite_disk_full(exc: BaseException) -> bool:
    """The Dagster instance database (SQLite) reports a full disk in words, not as an ``OSError``."""
    text = str(exc).lower()
    return "database or disk is full" in text or "disk i/o error" in text


def one_line_error(exc: BaseException, data_dir: str | None = None) -> str | None:
    """The one-line message for ``exc`` if it (or one of its causes) is a user or environment error.

    Returns ``None`` for anything else (a bug, which deserves its traceback).
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UserError):
            return str(current)
        if isinstance(current, OSError) and not isinstance(current, BrokenPipeError):
            return describe_os_error(current)
        if _sqlite_disk_full(current):
            where = f" under {data_dir}" if data_dir else ""
            return f"cannot write the Dagster instance database{where}: the disk is full (or failing); free some space and run it again"
        user_exc = getattr(current, "user_exception", None)  # DagsterExecutionStepExecutionError
        current = user_exc if isinstance(user_exc, BaseException) else (current.__cause__ or current.__context__)
    return None


def check_data_dir(raw: str | None) -> None:
    """A ``--data`` (or ``$DJ_DATA_DIR``) that exists must be a folder; its parent must not be a file."""
    value = raw if raw is not None else os.environ.get("DJ_DATA_DIR") or None
    if value is None:
        return
    p = Path(value).expanduser()
    try:
        if p.exists() and not p.is_dir():
            raise UserError(f"data directory {value} is a file, not a folder")
        for parent in p.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise UserError(f"data directory {value} lies under {parent}, which is a file")
                break
    except OSError as exc:
        raise UserError(f"data directory {value}: {describe_os_error(exc)}") from None


def check_output_file(raw: str) -> Path:
    """An output file that can be written: not a folder, under no file, in a writable folder.

    A missing folder is fine (the writer creates it) as long as its nearest existing ancestor is a
    writable folder.
    """
    out = Path(raw).expanduser()
    try:
        if out.is_dir():
            raise UserError(f"{raw} is a folder; give a file name, e.g. {out / 'library.xml'}")
        ancestor = next(p for p in out.absolute().parents if p.exists())
        if not ancestor.is_dir():
            raise UserError(f"cannot write {raw}: {ancestor} is a file, not a folder")
        target = out if out.exists() else ancestor
        if not os.access(target, os.W_OK) or not os.access(ancestor, os.W_OK | os.X_OK):
            raise UserError(f"cannot write {raw}: permission denied on {target}")
    except OSError as exc:
        raise UserError(f"cannot write {raw}: {describe_os_error(exc)}") from None
    return out


def non_negative_int(text: str) -> int:
    """``argparse`` type: an integer >= 0 (argparse turns the ``ValueError`` into a usage line)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative (0 means no limit)")
    return value


def positive_int(text: str) -> int:
    """``argparse`` type: an integer >= 1."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def check_track_file(ref: str, data_dir: str | os.PathLike | None) -> None:
    """A track given as a path that is not there, and is no library track's path either: one line
    before the library is loaded (the recommender's imports and tables cost seconds).

    A reference without a ``/`` or a ``.`` is a track id and is left to the library. A library
    track's own path still names it while its drive is unplugged (missing tracks keep their
    analysis), so the catalog is asked first; DuckDB reads that one column without pandas.
    """
    if not any(c in ref for c in (os.sep, "/", ".")):
        return
    path = Path(ref).expanduser()
    try:
        path.stat()
        return  # there (a loop or an unreadable file is the analyser's to describe)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            return
    from dj_pipeline.storage.paths import DataPaths

    catalog = DataPaths(data_dir).catalog_file
    if not isinstance(catalog, Path):
        return  # tables on an object store: the library loader asks it
    if catalog.is_file():
        import duckdb

        con = duckdb.connect()
        try:
            hit = con.execute("SELECT 1 FROM read_parquet(?) WHERE path IN (?, ?) LIMIT 1", [str(catalog), ref, str(path.absolute())]).fetchone()
        except duckdb.Error:
            return  # a damaged catalog: the library loader reports it
        finally:
            con.close()
        if hit:
            return
    raise UserError(f"unknown track {ref!r}: no such file, and not the path of a library track")
