"""The library catalog: file discovery, content ids, tags, and the diff that drives incremental ingest."""

from dj_pipeline.catalog.hashing import content_id
from dj_pipeline.catalog.scan import CATALOG_COLUMNS, ScanResult, assign_batches, find_audio_paths, scan_library
from dj_pipeline.catalog.tags import read_tags

__all__ = ["CATALOG_COLUMNS", "ScanResult", "assign_batches", "content_id", "find_audio_paths", "read_tags", "scan_library"]
