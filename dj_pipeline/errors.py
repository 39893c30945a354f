"""Errors a user can cause and fix, and which per-file failures are worth retrying.

``UserError`` (bad path, unknown track, empty library): shown as one line, no traceback.

A file that failed can fail for two kinds of reasons. *Content* errors (not audio, truncated,
silent, too short) stay true until the file changes, so they wait for a new size or mtime.
*Transient* ones (the file vanished mid-run because a drive was unplugged, permission or I/O
errors, an unexpected exception) say nothing about the file's content: the next ingest retries
them, a bounded number of times (``ingest.yaml: max_transient_retries``).
"""

from __future__ import annotations

import os


class UserError(Exception):
    """A problem with the user's input; the CLI prints ``str(err)`` and exits with status 2."""


class LibraryUnavailableError(UserError):
    """The library (or a whole folder of it) is missing or empty: probably unmounted, not deleted."""


def file_is_readable(path: str | os.PathLike) -> bool:
    """Whether ``path`` exists as a file this process may read right now."""
    try:
        return os.path.isfile(path) and os.access(path, os.R_OK)
    except OSError:
        return False


def is_transient_failure(exc: BaseException, path: str | os.PathLike | None, content_errors: tuple[type, ...]) -> bool:
    """Whether a per-file failure should be retried by the next ingest.

    A failure is a content error only when it is one of ``content_errors`` (a decoder's verdict or
    a rejection) *and* the file is still there and readable: a decoder that met a vanished file
    (an unplugged drive) reports garbage, and that garbage is not the file's fault. Everything else
    (``OSError``, a bug) is transient.
    """
    if not isinstance(exc, content_errors):
        return True
    return path is not None and not file_is_readable(path)


def os_error_words(exc: OSError) -> str:
    """An ``OSError`` as words (``Permission denied``), without the ``[Errno 13]`` prefix."""
    return exc.strerror or type(exc).__name__
