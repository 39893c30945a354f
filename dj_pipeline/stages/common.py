"""What every per-batch stage shares: per-track error capture, checkpoints, progress, a worker pool.

Tracks of a batch are independent, so a stage can spread them over processes (``workers``): a
laptop with 8 cores analyses a new library ~8x faster. Workers are spawned and die with their
parent (:mod:`dj_pipeline.stages.pool`). The function applied per track must be picklable (a
module-level function or a ``functools.partial`` of one); results are put back in track order, so
output is the same for any number of workers. Each finished track is checkpointed as it arrives
(:mod:`dj_pipeline.stages.checkpoint`), so a killed batch resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pandas as pd

from dj_pipeline.audio import AudioDecodeError
from dj_pipeline.errors import is_transient_failure, os_error_words
from dj_pipeline.progress import stage_bar
from dj_pipeline.stages.checkpoint import TrackResult, active_checkpoint
from dj_pipeline.stages.pool import spawn_iter, spawn_map
from dj_pipeline.storage.tables import ERROR_COLUMNS, error_row

__all__ = ["StageOutput", "TrackRejected", "process_track", "resolve_workers", "run_per_track", "spawn_map"]

log = logging.getLogger(__name__)


@dataclass
class StageOutput:
    """Rows a stage produced and the tracks it could not process."""

    rows: pd.DataFrame
    errors: pd.DataFrame
    resumed: int = 0  # tracks taken from the checkpoint of a killed run, not processed again

    @property
    def n_ok(self) -> int:
        return int(self.rows["track_id"].nunique()) if "track_id" in self.rows else len(self.rows)


class TrackRejected(Exception):
    """A track is valid audio but unusable for a stage (e.g. silent); the message is the reason."""


CONTENT_ERRORS = (AudioDecodeError, TrackRejected)  # verdicts on a file's content: they wait for it to change


def resolve_workers(workers: int) -> int:
    """``workers`` processes, or one per CPU core when ``workers <= 0``."""
    return workers if workers > 0 else max(1, os.cpu_count() or 1)


def process_track(fn: Callable[[Any], Iterable[dict]], track: Any) -> TrackResult:
    """Run ``fn`` on one track: ``(rows, None, False)``, or ``([], reason, transient)`` when it fails.

    Expected failures (:class:`AudioDecodeError`, :class:`TrackRejected`) give their message and
    are content errors, unless the file is gone or unreadable now (an unplugged drive makes the
    decoder report garbage): then they are transient, like an ``OSError``. Anything else is a bug,
    but one bad file must still not cost the DJ the batch: it is recorded as
    ``internal error: <type>: <message>`` (transient: a fixed version should get another try) and
    logged with its traceback.
    """
    path = getattr(track, "path", None)
    try:
        return list(fn(track)), None, False
    except (AudioDecodeError, TrackRejected) as exc:
        return [], str(exc), is_transient_failure(exc, path, CONTENT_ERRORS)
    except OSError as exc:
        return [], f"cannot read file ({os_error_words(exc)})", True
    except Exception as exc:  # noqa: BLE001 - isolate one file's failure from the batch
        log.exception("processing %s failed", path or "?")
        return [], f"internal error: {type(exc).__name__}: {exc}", True


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
    over a process pool; smaller batches stay in-process (a worker's start-up costs seconds). Inside
    an asset's :func:`~dj_pipeline.stages.checkpoint.checkpointing` block each finished track is
    checkpointed, and tracks a killed run finished are taken from the checkpoint, not redone.
    """
    items = [SimpleNamespace(**r) for r in tracks.to_dict("records")]
    checkpoint = active_checkpoint(stage)
    results: list[TrackResult | None] = [None] * len(items)
    if checkpoint is not None:
        saved = checkpoint.load()
        results = [saved.get(str(getattr(t, "track_id", ""))) for t in items]
    todo = [i for i, r in enumerate(results) if r is None]
    n_workers = min(resolve_workers(workers), max(1, len(todo) // max(1, min_tracks_per_worker)))
    if n_workers > 1:  # longest first: the last tracks to finish are short ones, so no worker idles long at the end
        todo.sort(key=lambda i: -_seconds(items[i]))
    now = datetime.now(timezone.utc)
    bar = stage_bar(stage, len(items), len(items) - len(todo), show_progress)  # ticks per finished track
    for j, result in _results(fn, [items[i] for i in todo], n_workers):
        results[todo[j]] = result
        if checkpoint is not None and not result[2]:  # transient failures are retried, not remembered
            checkpoint.save(str(items[todo[j]].track_id), result)
        bar.update(1)
    bar.close()
    rows: list[dict] = []
    errors: list[dict] = []
    for track, (track_rows, reason, transient) in zip(items, results):  # type: ignore[misc]
        if reason is None:
            rows.extend(track_rows)
        else:
            errors.append(_error(track, stage, reason, now, transient))
    return StageOutput(pd.DataFrame(rows, columns=columns), pd.DataFrame(errors, columns=ERROR_COLUMNS), len(items) - len(todo))


def _results(fn: Callable[[Any], Iterable[dict]], items: list[Any], n_workers: int) -> Iterator[tuple[int, TrackResult]]:
    """``(i, result)`` for each item as it finishes (in-process in order, or from the pool)."""
    from dj_pipeline.distributed import track_results

    remote = track_results(process_track, fn, items)  # ingest.yaml executor: ray -> Ray tasks/actors
    if remote is not None:
        yield from remote
        return
    if n_workers <= 1:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):  # the same arithmetic as in a worker: results do not depend on workers
            for i, item in enumerate(items):
                yield i, process_track(fn, item)
        return
    finished: set[int] = set()
    try:
        for i, result in spawn_iter(process_track, [[fn] * len(items), items], n_workers):
            finished.add(i)
            yield i, result
    except BrokenProcessPool as exc:  # a worker died (out of memory, killed): finish the batch in-process
        log.warning("worker pool failed (%s); processing %d tracks in-process", exc, len(items) - len(finished))
        for i, item in enumerate(items):
            if i not in finished:
                yield i, process_track(fn, item)


def _seconds(track: Any) -> float:
    """A track's length for scheduling (0 when unknown)."""
    try:
        seconds = float(getattr(track, "duration_s", 0.0) or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return seconds if seconds == seconds else 0.0  # NaN: unknown


def _error(track: Any, stage: str, message: str, now: datetime, transient: bool) -> dict:
    return error_row(
        track.path, stage, message, now, now, track.track_id,
        getattr(track, "batch", None), getattr(track, "size_bytes", None), getattr(track, "mtime", None), transient,
    )  # fmt: skip
