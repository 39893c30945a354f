"""The one data directory a library produces (INTERFACE.md "Data directory")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "DJ_DATA_DIR"
DEFAULT_DATA_DIR = "data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else ``$DJ_DATA_DIR``, else ``./data``; returned absolute."""
    raw = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(raw).expanduser().resolve()


@dataclass(frozen=True)
class DataPaths:
    """Where each kind of output lives under the data directory.

    ``parquet/<asset>/`` one folder per asset (``batch=<key>.parquet`` for batch-partitioned ones),
    ``indexes/`` FAISS files, ``models/`` trained recommenders, ``sessions/`` DJ session state,
    ``dj.duckdb`` the SQL surface, ``dagster_home/`` the Dagster instance used by the CLI.
    """

    root: Path

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        object.__setattr__(self, "root", resolve_data_dir(root))

    @property
    def parquet_dir(self) -> Path:
        return self.root / "parquet"

    def asset_dir(self, asset: str) -> Path:
        return self.parquet_dir / asset

    def batch_file(self, asset: str, batch: str) -> Path:
        return self.asset_dir(asset) / f"batch={batch}.parquet"

    @property
    def index_dir(self) -> Path:
        return self.root / "indexes"

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    @property
    def duckdb_path(self) -> Path:
        return self.root / "dj.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def ensure(self) -> "DataPaths":
        """Create the directory skeleton (idempotent) and return self."""
        for d in (self.parquet_dir, self.index_dir, self.models_dir, self.sessions_dir, self.dagster_home):
            d.mkdir(parents=True, exist_ok=True)
        return self
