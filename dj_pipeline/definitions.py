"""The Dagster code location: every asset, check, job, schedule, sensor and resource in one place."""

from dagster import Definitions, load_asset_checks_from_modules, load_assets_from_modules

from dj_pipeline.assets import batches, beats, catalog, checks, library, models, publish, roles, structure
from dj_pipeline.assets.resources import settings_from_env
from dj_pipeline.automation import catalog_scan_job, catalog_scan_schedule, library_change_sensor
from dj_pipeline.jobs import step_jobs

ASSET_MODULES = [catalog, batches, beats, structure, library, roles, models, publish]

ASSETS = load_assets_from_modules(ASSET_MODULES)

defs = Definitions(
    assets=ASSETS,
    asset_checks=load_asset_checks_from_modules([checks]),
    jobs=[catalog_scan_job, *step_jobs(ASSETS)],  # one named job per ingest step (dj_pipeline.jobs)
    schedules=[catalog_scan_schedule],
    sensors=[library_change_sensor],
    resources={"settings": settings_from_env()},
)
