"""Drum role pools: ``sample_catalog`` -> ``sample_roles`` -> ``role_pools``."""

from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AutomationCondition, Config, MaterializeResult, MetadataValue, asset

from dj_pipeline.assets.metadata import table_preview
from dj_pipeline.assets.resources import DJSettings
from dj_pipeline.stages.roles_stage import SAMPLE_CATALOG_COLUMNS, assign_incremental, scan_samples
from dj_pipeline.storage import DataPaths, read_parquet_files, write_parquet_atomic


def _table_file(paths: DataPaths, name: str) -> Path:
    return paths.asset_dir(name) / f"{name}.parquet"


def _read(paths: DataPaths, name: str) -> pd.DataFrame:
    f = _table_file(paths, name)
    return read_parquet_files([f]) if f.exists() else pd.DataFrame()


@asset(
    group_name="roles",
    kinds={"python", "parquet"},
    description="One row per drum one-shot in the samples folder (stable content id), scanned incrementally.",
)
def sample_catalog(context: AssetExecutionContext, settings: DJSettings) -> MaterializeResult:
    paths = settings.paths
    if settings.samples_dir and Path(settings.samples_dir).is_dir():
        catalog = scan_samples(settings.samples_dir, _read(paths, "sample_catalog"))
    else:
        context.log.info("no samples folder configured (samples_dir=%r): empty sample catalog", settings.samples_dir)
        catalog = pd.DataFrame(columns=SAMPLE_CATALOG_COLUMNS)
    write_parquet_atomic(catalog, _table_file(paths, "sample_catalog"))
    return MaterializeResult(
        metadata={"dagster/row_count": len(catalog), "samples_dir": MetadataValue.text(settings.samples_dir or "(none)")}
    )


class RolesRunConfig(Config):
    """Run config of ``sample_roles``: a path to a user ``roles.yaml`` (empty: the packaged one)."""

    roles_yaml: str = ""
    use_clap: bool = True


@asset(
    deps=[sample_catalog],
    group_name="roles",
    kinds={"python", "parquet"},
    automation_condition=AutomationCondition.eager(),
    description=(
        "Role per one-shot (CORE, ACCENT, MOTION, FILL, TEXTURE): DSP rule scores fused with CLAP "
        "zero-shot scores (rules only when no CLAP weights are on disk), guard rails, top-2 margin confidence."
    ),
)
def sample_roles(context: AssetExecutionContext, settings: DJSettings, config: RolesRunConfig) -> MaterializeResult:
    from dj_pipeline.roles import load_roles_config

    paths = settings.paths
    roles_config = load_roles_config(config.roles_yaml or None)
    clap = _clap_or_none(settings) if config.use_clap else None
    out = assign_incremental(_read(paths, "sample_catalog"), _read(paths, "sample_roles"), _read(paths, "sample_errors"), roles_config, clap)
    write_parquet_atomic(out.roles, _table_file(paths, "sample_roles"))
    write_parquet_atomic(out.errors, _table_file(paths, "sample_errors"))
    counts = out.roles["role"].value_counts().to_dict() if not out.roles.empty else {}
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(out.roles),
            "new_samples": MetadataValue.int(out.n_new),
            "errors": MetadataValue.int(len(out.errors)),
            "role_counts": MetadataValue.json({k: int(v) for k, v in counts.items()}),
            "fusion_alpha": MetadataValue.text("n/a" if out.fusion_alpha is None else f"{out.fusion_alpha:g}"),
            "preview": table_preview(out.roles, ["sample_id", "path", "role", "confidence"]),
        }
    )


@asset(
    deps=[sample_roles],
    group_name="roles",
    kinds={"python", "parquet"},
    automation_condition=AutomationCondition.eager(),
    description="Pools per role under the pool constraints (required CORE/ACCENT/MOTION, max sizes, rebalancing).",
)
def role_pools(context: AssetExecutionContext, settings: DJSettings, config: RolesRunConfig) -> MaterializeResult:
    from dj_pipeline.roles import build_pools, load_roles_config

    roles = _read(settings.paths, "sample_roles")
    empty = pd.DataFrame({"role": pd.Series(dtype="string"), "sample_id": pd.Series(dtype="string"), "rank": pd.Series(dtype="int64")})
    pools = build_pools(roles, load_roles_config(config.roles_yaml or None)) if not roles.empty else empty
    write_parquet_atomic(pools, _table_file(settings.paths, "role_pools"))
    sizes = pools["role"].value_counts().to_dict() if not pools.empty else {}
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(pools),
            "pool_sizes": MetadataValue.json({k: int(v) for k, v in sizes.items()}),
            "preview": table_preview(pools, n=30),
        }
    )


def _clap_or_none(settings: DJSettings):  # noqa: ANN202 - returns a CLAP embedder or None
    from dj_pipeline.embeddings import find_local_clap, get_embedder

    if settings.embedding_backend == "dsp" or find_local_clap(settings.embedding_model or None) is None:
        return None
    return get_embedder(backend="clap", model=settings.embedding_model or None, device=settings.device or None)
