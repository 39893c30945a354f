"""Storage: the data directory layout, atomic Parquet writes, current-row reads, the DuckDB catalog.

Parquet is the system of record (workers only ever write Parquet, atomically); DuckDB is a
read surface rebuilt by one serialized step (see DESIGN.md "Why Parquet first, DuckDB second").
"""

from dj_pipeline.storage.paths import DataPaths, resolve_data_dir
from dj_pipeline.storage.parquet import list_batch_files, read_parquet_files, write_parquet_atomic
from dj_pipeline.storage.tables import read_asset, write_batch

__all__ = [
    "DataPaths",
    "list_batch_files",
    "read_asset",
    "read_parquet_files",
    "resolve_data_dir",
    "write_batch",
    "write_parquet_atomic",
]
