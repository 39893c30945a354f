"""The library catalog: file discovery, content ids, tags, and the diff that drives incremental ingest."""

from dj_pipeline.catalog.hashing import content_id, file_digest
from dj_pipeline.catalog.lifecycle import ScanOptions
from dj_pipeline.catalog.scan import CATALOG_COLUMNS, ScanResult, assign_batches, find_audio_paths, scan_library
from dj_pipeline.catalog.tags import read_tags

__all__ = [
    "CATALOG_COLUMNS", "ScanOptions", "ScanResult", "assign_batches", "content_id", "file_digest", "find_audio_paths",
    "read_tags", "scan_library",
]  # fmt: skip
