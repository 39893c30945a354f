"""Per-batch processing stages: plain functions that turn a batch of catalog rows into table rows.

Each stage takes the batch's catalog rows and returns ``StageOutput(rows, errors)``; a failing
track becomes an error row (stage, reason) and never stops the batch. The Dagster assets in
``dj_pipeline.assets`` are thin wrappers that read inputs, call these and write Parquet.
"""

from dj_pipeline.stages.common import StageOutput, run_per_track
from dj_pipeline.stages.windows_stage import WINDOW_COLUMNS, windows_for_batch, windows_of_track

__all__ = ["WINDOW_COLUMNS", "StageOutput", "run_per_track", "windows_for_batch", "windows_of_track"]
