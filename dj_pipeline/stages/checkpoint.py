"""Per-track checkpoints inside a batch: a killed batch does not analyse its finished tracks again.

A batch stage writes its Parquet file only once every track of the batch is done (up to
``max_batch_size`` tracks, minutes of work). While it runs, each finished track's result (its
rows, or a content error) is also written to ``<data>/checkpoints/<asset>/batch=<key>/<stage>/
<track_id>.pkl``, atomically (temp file + rename), so a kill leaves whole files only. The rerun of
the batch reads them back and processes only the other tracks; the directory is removed once the
batch file is written. Transient failures are not checkpointed: the rerun tries them again.

The asset wrapper opens the checkpoint (:func:`checkpointing`); the per-track runner finds it
through a context variable, so the stage functions in between need no extra argument. A
checkpoint made under other settings or another configuration is discarded (``fingerprint``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHECKPOINTS_DIR = "checkpoints"
FINGERPRINT_FILE = "fingerprint"
# (rows, error message or None, transient)
TrackResult = tuple[list[dict], str | None, bool]

_ACTIVE: ContextVar[Path | None] = ContextVar("dj_track_checkpoint", default=None)


@dataclass(frozen=True)
class TrackCheckpoint:
    """The finished tracks of one stage of one batch, one small file each."""

    directory: Path

    def load(self) -> dict[str, TrackResult]:
        """Results saved so far, by track id (unreadable files are ignored: that track is redone)."""
        out: dict[str, TrackResult] = {}
        if not self.directory.is_dir():
            return out
        for f in self.directory.glob("*.pkl"):
            try:
                with f.open("rb") as fh:
                    out[f.stem] = pickle.load(fh)
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
                continue
        return out

    def save(self, track_id: str, result: TrackResult) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pkl", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.directory / f"{track_id}.pkl")
        finally:
            Path(tmp).unlink(missing_ok=True)


def checkpoint_dir(data_root: Path, asset: str, batch: str) -> Path:
    return data_root / CHECKPOINTS_DIR / asset / f"batch={batch}"


def config_fingerprint(*parts: Any) -> str:
    """A digest of ``parts`` (run settings) and every packaged YAML configuration file."""
    from dj_pipeline.config import CONFIG_DIR

    h = hashlib.blake2b(digest_size=12)
    h.update(repr(parts).encode())
    for f in sorted(CONFIG_DIR.glob("*.yaml")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


@contextmanager
def checkpointing(directory: Path, fingerprint: str) -> Iterator[Path]:
    """Make ``directory`` the checkpoint of the per-track stages run inside the block."""
    marker = directory / FINGERPRINT_FILE
    if directory.exists() and (not marker.exists() or marker.read_text(encoding="utf-8") != fingerprint):
        shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text(fingerprint, encoding="utf-8")
    token = _ACTIVE.set(directory)
    try:
        yield directory
    finally:
        _ACTIVE.reset(token)


def discard(directory: Path) -> None:
    """Remove a batch's checkpoint once its batch file is written."""
    shutil.rmtree(directory, ignore_errors=True)


def active_checkpoint(stage: str) -> TrackCheckpoint | None:
    """The checkpoint for ``stage`` opened by the caller's :func:`checkpointing`, if any."""
    directory = _ACTIVE.get()
    return None if directory is None else TrackCheckpoint(directory / stage)
