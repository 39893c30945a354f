"""The real-music dev set (``../shared/realset``), read from wherever it was extracted.

The audio is never in this repository: ``extract.py`` writes ``truth.csv``, ``audio/<dataset>/...``
and ``beats/<dataset>/<name>.beats`` into a scratch folder, and every benchmark takes that folder as
``--realset`` (default: ``$DJ_REALSET``, else ``/work/realset``). One loader for every benchmark, so
that they all score the same items the same way.

``truth.csv`` columns: ``file, bpm, key, genre, beats, duration_s, dataset``. GTZAN excerpts
(``gtzan_mini``) have a genre, manual beats with bar positions (1 = downbeat) and most have a key;
the game songs (``fnf_*``) have a chart BPM and their repository as the dataset.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_REALSET = Path("/work/realset")
GTZAN = "gtzan_mini"


def realset_dir(path: str | os.PathLike | None = None) -> Path | None:
    """The extracted real set: ``path``, else ``$DJ_REALSET``, else the default; ``None`` when absent."""
    candidate = Path(path or os.environ.get("DJ_REALSET") or DEFAULT_REALSET).expanduser()
    return candidate if (candidate / "truth.csv").is_file() else None


def add_realset_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--realset DIR`` flag every benchmark shares."""
    parser.add_argument(
        "--realset",
        default=None,
        help="extracted real dev set (truth.csv, audio/, beats/); default $DJ_REALSET or /work/realset",
    )


def load_truth(root: str | os.PathLike) -> pd.DataFrame:
    """``truth.csv`` with absolute ``path``/``beats_path`` columns, ``key_root``/``key_mode`` and ``is_gtzan``.

    Keys are parsed with the project's own parser ("A minor" -> 9, "minor"); a blank key (a modulating
    piece, or a game song) gives ``None``.
    """
    from dj_pipeline.music.keys import parse_key

    root = Path(root)
    truth = pd.read_csv(root / "truth.csv", dtype={"key": str, "genre": str, "beats": str})
    truth["path"] = [str(root / "audio" / f) for f in truth["file"]]
    truth["beats_path"] = [str(root / b) if isinstance(b, str) and b else None for b in truth["beats"]]
    parsed = [parse_key(k) if isinstance(k, str) and k.strip() else None for k in truth["key"]]
    truth["key_root"] = [p[0] if p else None for p in parsed]
    truth["key_mode"] = [p[1] if p else None for p in parsed]
    truth["is_gtzan"] = truth["dataset"] == GTZAN
    return truth


def read_beats(beats_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Annotated beat times (s) and their bar positions (1 = downbeat) from a ``.beats`` file."""
    rows = np.loadtxt(beats_path, ndmin=2)
    times = rows[:, 0].astype(np.float64)
    positions = rows[:, 1].astype(np.int64) if rows.shape[1] > 1 else np.zeros(len(times), dtype=np.int64)
    return times, positions


def downbeats(beats_path: str | os.PathLike) -> np.ndarray:
    """Annotated downbeat times (s): the beats at bar position 1."""
    times, positions = read_beats(beats_path)
    return times[positions == 1]


def holdout_split(files: pd.Series, n_folds: int = 2, fold: int = 0) -> np.ndarray:
    """A fixed, content-independent split: ``True`` for the items of ``fold`` (by a stable hash of the name).

    Tune on the items where it is ``False``, report on the items where it is ``True`` (or cross-validate
    over every fold). The hash of the file name keeps the split the same on every machine and run.
    """
    import zlib

    return np.array([zlib.crc32(str(f).encode()) % n_folds == fold for f in files], dtype=bool)
