"""What every per-batch stage shares: per-track error capture and progress."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from dj_pipeline.audio import AudioDecodeError
from dj_pipeline.storage.tables import ERROR_COLUMNS

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


def run_per_track(
    tracks: pd.DataFrame,
    fn: Callable[[Any], Iterable[dict]],
    stage: str,
    columns: list[str],
    show_progress: bool = True,
) -> StageOutput:
    """Apply ``fn(track_row) -> rows`` to every track; decode failures become error rows.

    Expected failures (:class:`AudioDecodeError`, :class:`TrackRejected`) are recorded with their
    message. Anything else is a bug, but one bad file must still not cost the DJ the batch: it is
    recorded as ``internal error: <type>: <message>`` and logged with its traceback.
    """
    rows: list[dict] = []
    errors: list[dict] = []
    now = datetime.now(timezone.utc)
    it = tracks.itertuples(index=False)
    bar = tqdm(it, total=len(tracks), desc=stage, unit="track", disable=not show_progress, leave=False)
    for track in bar:
        try:
            rows.extend(fn(track))
        except (AudioDecodeError, TrackRejected) as exc:
            errors.append(_error(track, stage, str(exc), now))
        except Exception as exc:  # noqa: BLE001 - isolate one file's failure from the batch
            log.exception("stage %s failed on %s", stage, getattr(track, "path", "?"))
            errors.append(_error(track, stage, f"internal error: {type(exc).__name__}: {exc}", now))
    return StageOutput(pd.DataFrame(rows, columns=columns), pd.DataFrame(errors, columns=ERROR_COLUMNS))


def _error(track: Any, stage: str, message: str, now: datetime) -> dict:
    return {
        "path": track.path,
        "stage": stage,
        "error": message,
        "first_seen": now,
        "last_seen": now,
        "track_id": track.track_id,
        "batch": getattr(track, "batch", None),
        "size_bytes": getattr(track, "size_bytes", None),
        "mtime": getattr(track, "mtime", None),
    }
