"""Scheduled and sensor-driven ingest: a catalog scan on a schedule and when the library changes.

Downstream assets carry ``AutomationCondition`` s (``on_missing`` for new batches, ``eager`` after
them), so once the scan opens a batch, Dagster's automation sensor processes it and refreshes the
library-wide assets without a manual backfill.
"""

import hashlib
import os
from pathlib import Path

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    sensor,
)

from dj_pipeline.assets.catalog import track_catalog
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.audio import AUDIO_EXTENSIONS
from dj_pipeline.config.ingest import load_ingest_config

INGEST_CONFIG = load_ingest_config()

catalog_scan_job = define_asset_job(
    "catalog_scan", selection=AssetSelection.assets(track_catalog), description="Scan the library folder for new, changed and deleted files."
)

catalog_scan_schedule = ScheduleDefinition(
    name="catalog_scan_schedule",
    job=catalog_scan_job,
    cron_schedule=INGEST_CONFIG.scan_schedule_cron,
    default_status=DefaultScheduleStatus.STOPPED,
    description="Periodic library scan (the sensor reacts faster; this catches anything it missed).",
)


def library_signature(library_dir: str | os.PathLike) -> str:
    """A digest of (path, size, mtime) of every audio file: changes when any file is added, removed or edited."""
    h = hashlib.sha1()
    root = Path(library_dir)
    if not root.is_dir():
        return "missing"
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                p = Path(dirpath) / name
                try:
                    st = p.stat()
                except OSError:
                    continue
                h.update(f"{p}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


@sensor(
    job=catalog_scan_job,
    minimum_interval_seconds=INGEST_CONFIG.sensor_interval_s,
    default_status=DefaultSensorStatus.STOPPED,
    description="Starts a catalog scan when files in the library folder are added, removed or changed.",
)
def library_change_sensor(context: SensorEvaluationContext, settings: DJSettings):  # noqa: ANN201
    signature = library_signature(settings.library_dir)
    if signature == context.cursor:
        return SkipReason(f"no change in {settings.library_dir}")
    context.update_cursor(signature)
    return RunRequest(run_key=signature)
