"""Storage: the data directory layout, atomic Parquet writes, current-row reads, the DuckDB catalog.

Parquet is the system of record (workers only ever write Parquet, atomically); DuckDB is a
read surface rebuilt by one serialized step (see DESIGN.md "Why Parquet first, DuckDB second").

Names are imported on first use (PEP 562), so ``from dj_pipeline.storage import DataPaths`` does
not import pandas and pyarrow: the light CLI commands stay fast.
"""

from importlib import import_module
from typing import Any

from dj_pipeline.storage.paths import DataPaths, resolve_data_dir

_LAZY = {
    "list_batch_files": "dj_pipeline.storage.parquet",
    "read_parquet_files": "dj_pipeline.storage.parquet",
    "write_parquet_atomic": "dj_pipeline.storage.parquet",
    "read_asset": "dj_pipeline.storage.tables",
    "write_batch": "dj_pipeline.storage.tables",
}

__all__ = ["DataPaths", "resolve_data_dir", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'dj_pipeline.storage' has no attribute {name!r}")
