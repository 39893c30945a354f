"""The parts of ``dj ingest`` that concern failed, forced and missing files (issue 18), kept out of
the orchestration in :mod:`dj_pipeline.pipeline`: ``--force`` paths, the scan summary line, and
user errors raised inside a Dagster step (an unmounted library) shown as one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dj_pipeline.errors import UserError


def resolve_force_paths(library: Path, force_paths: list[str] | None) -> list[str] | None:
    """``--force`` paths made absolute (relative ones are tried under the library first).

    ``None``: nothing forced; ``[]``: everything. A path that exists nowhere is a user error.
    """
    if force_paths is None:
        return None
    out: list[str] = []
    for raw in force_paths:
        p = Path(raw).expanduser()
        candidates = [p] if p.is_absolute() else [library / p, p]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            raise UserError(f"--force: no such file or folder: {raw}")
        out.append(str(found.resolve()))
    return out


def scan_line(scan: dict) -> str:
    """The one-line summary of a catalog scan that ``dj ingest`` prints."""
    parts = [f"{scan.get('new', 0)} new", f"{scan.get('changed', 0)} changed"]
    parts += [f"{scan[k]} {k}" for k in ("retried", "missing", "returned") if scan.get(k)]
    parts += [f"{scan.get('deleted', 0)} deleted", f"{scan.get('unchanged', 0)} unchanged"]
    line = f"scan: {scan.get('tracks', 0)} tracks ({', '.join(parts)}), {scan.get('errors', 0)} unreadable files"
    if scan.get("missing"):
        line += "; missing tracks keep their analysis (dj ingest --allow-deletions drops them)"
    return line


@contextmanager
def user_errors_unwrapped() -> Iterator[None]:
    """Re-raise a :class:`UserError` that a Dagster step raised as itself, not wrapped in Dagster's error."""
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        user = _find_user_error(exc)
        if user is None:
            raise
        raise user from None


def _find_user_error(exc: BaseException | None) -> UserError | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UserError):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "user_exception", None) or exc.__cause__ or exc.__context__
    return None
