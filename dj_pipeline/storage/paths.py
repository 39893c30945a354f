"""The one data directory a library produces (INTERFACE.md "Data directory")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dj_pipeline.storage.fs import AnyPath

DATA_DIR_ENV = "DJ_DATA_DIR"
DEFAULT_DATA_DIR = "data"
CATALOG_ASSET = "track_catalog"
CATALOG_FILE = "catalog.parquet"


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

    The Parquet tables may live elsewhere (issue 17): ``parquet_uri`` (default: the ``parquet_uri``
    of ``ingest.yaml`` / ``$DJ_PARQUET_URI``; empty = ``<root>/parquet``) names a local folder, a
    ``file://`` URI or an object-store URL (:mod:`dj_pipeline.storage.fs`); the rest stays local.
    """

    root: Path
    parquet_dir: AnyPath

    def __init__(self, root: str | os.PathLike | None = None, parquet_uri: str | None = None) -> None:
        from dj_pipeline.storage.fs import resolve_parquet_dir

        object.__setattr__(self, "root", resolve_data_dir(root))
        uri = configured_parquet_uri() if parquet_uri is None else parquet_uri
        object.__setattr__(self, "parquet_dir", resolve_parquet_dir(uri, self.root / "parquet"))

    @property
    def parquet_is_local(self) -> bool:
        """Whether the tables are on a local (or mounted shared) filesystem DuckDB can read directly."""
        return isinstance(self.parquet_dir, Path)

    @property
    def parquet_mirror_dir(self) -> Path:
        """Local copy of remote tables that the DuckDB views read (:mod:`dj_pipeline.storage.mirror`)."""
        return self.root / "parquet_mirror"

    def asset_dir(self, asset: str) -> AnyPath:
        return self.parquet_dir / asset

    @property
    def catalog_file(self) -> AnyPath:
        """The track catalog (one file, not batch-partitioned)."""
        return self.asset_dir(CATALOG_ASSET) / CATALOG_FILE

    def batch_file(self, asset: str, batch: str) -> AnyPath:
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

    @property
    def scratch_dir(self) -> Path:
        """Work files of a running ingest (decoded audio); removed when it ends."""
        return self.root / "scratch"

    def ensure(self) -> "DataPaths":
        """Create the directory skeleton (idempotent) and return self."""
        for d in (self.parquet_dir, self.index_dir, self.models_dir, self.sessions_dir, self.dagster_home):
            d.mkdir(parents=True, exist_ok=True)
        return self


def configured_parquet_uri() -> str:
    """``parquet_uri`` of the ingest config, ``$DJ_PARQUET_URI`` overriding it (``""``: inside the data dir)."""
    from dj_pipeline.config.ingest import CONFIG_ENV, PARQUET_URI_ENV

    return _parquet_uri(os.environ.get(CONFIG_ENV), os.environ.get(PARQUET_URI_ENV))


@lru_cache(maxsize=8)
def _parquet_uri(config_path: str | None, env_uri: str | None) -> str:
    """Read once per (config file, environment value): a ``DataPaths`` is made often, YAML costs ms."""
    from dj_pipeline.config.ingest import load_ingest_config

    return load_ingest_config().parquet_uri
