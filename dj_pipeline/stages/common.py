"""What every per-batch stage shares: per-track error capture, progress, and a worker pool.

Tracks of a batch are independent, so a stage can spread them over processes (``workers``): a
laptop with 8 cores analyses a new library ~8x faster. Workers are spawned (no fork of a process
holding Dagster's threads), each limited to one BLAS thread so they do not oversubscribe cores.
The function applied per track must be picklable (a module-level function or a
``functools.partial`` of one); results come back in track order, so output is the same for any
number of workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from dj_pipeline.audio import AudioDecodeError
from dj_pipeline.storage.tables import ERROR_COLUMNS, error_row

log = logging.getLogger(__name__)


@dataclass
class StageOutput:
    """Rows a stage produced and the tracks it could not process."""

    rows: pd.DataFrame
    errors: pd.DataFrame

    @property
    def n_ok(self) -> int:
        return int(self.rows["track_id"].nunique()) if "track_id" in self.rows else len(self.rows)


class TrackRejected(Exception):
    """A track is valid audio but unusable for a stage (e.g. silent); the message is the reason."""


def resolve_workers(workers: int) -> int:
    """``workers`` processes, or one per CPU core when ``workers <= 0``."""
    return workers if workers > 0 else max(1, os.cpu_count() or 1)


def process_track(fn: Callable[[Any], Iterable[dict]], track: Any) -> tuple[list[dict], str | None]:
    """Run ``fn`` on one track: ``(rows, None)``, or ``([], reason)`` when the track fails.

    Expected failures (:class:`AudioDecodeError`, :class:`TrackRejected`) give their message.
    Anything else is a bug, but one bad file must still not cost the DJ the batch: it is recorded
    as ``internal error: <type>: <message>`` and logged with its traceback.
    """
    try:
        return list(fn(track)), None
    except (AudioDecodeError, TrackRejected) as exc:
        return [], str(exc)
    except Exception as exc:  # noqa: BLE001 - isolate one file's failure from the batch
        log.exception("processing %s failed", getattr(track, "path", "?"))
        return [], f"internal error: {type(exc).__name__}: {exc}"


def run_per_track(
    tracks: pd.DataFrame,
    fn: Callable[[Any], Iterable[dict]],
    stage: str,
    columns: list[str],
    show_progress: bool = True,
    workers: int = 1,
    min_tracks_per_worker: int = 4,
) -> StageOutput:
    """Apply ``fn(track) -> rows`` to every track (a row object with attribute access).

    With ``workers > 1`` and at least ``min_tracks_per_worker`` tracks per worker, tracks are spread
    over a process pool; smaller batches stay in-process (a worker's start-up costs seconds).
    """
    items = [SimpleNamespace(**r) for r in tracks.to_dict("records")]
    n_workers = min(resolve_workers(workers), max(1, len(items) // max(1, min_tracks_per_worker)))
    now = datetime.now(timezone.utc)
    rows: list[dict] = []
    errors: list[dict] = []
    results = _results(fn, items, n_workers)
    bar = tqdm(results, total=len(items), desc=stage, unit="track", disable=not show_progress, leave=False)
    for track, (track_rows, reason) in zip(items, bar):
        if reason is None:
            rows.extend(track_rows)
        else:
            errors.append(_error(track, stage, reason, now))
    return StageOutput(pd.DataFrame(rows, columns=columns), pd.DataFrame(errors, columns=ERROR_COLUMNS))


def _results(fn: Callable[[Any], Iterable[dict]], items: list[Any], n_workers: int) -> Iterator[tuple[list[dict], str | None]]:
    if n_workers <= 1:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # the same arithmetic as in a worker: results do not depend on workers
            for item in items:
                yield process_track(fn, item)
        return
    try:
        results = spawn_map(process_track, [[fn] * len(items), items], n_workers)
    except BrokenProcessPool as exc:  # a worker died (out of memory, killed): redo the batch in-process
        log.warning("worker pool failed (%s); processing %d tracks in-process", exc, len(items))
        results = [process_track(fn, item) for item in items]
    yield from results


def spawn_map(fn: Callable[..., Any], arg_lists: list[list[Any]], n_workers: int, chunksize: int = 1) -> list[Any]:
    """``[fn(*args) for args in zip(*arg_lists)]`` in ``n_workers`` spawned processes (one BLAS
    thread each), results in input order. ``fn`` must be picklable (a module-level function)."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_limit_threads) as pool:
        return list(pool.map(fn, *arg_lists, chunksize=chunksize))


def _limit_threads() -> None:
    """One BLAS/OpenMP thread per worker process: parallelism comes from the processes."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _error(track: Any, stage: str, message: str, now: datetime) -> dict:
    return error_row(
        track.path, stage, message, now, now, track.track_id,
        getattr(track, "batch", None), getattr(track, "size_bytes", None), getattr(track, "mtime", None),
    )  # fmt: skip
