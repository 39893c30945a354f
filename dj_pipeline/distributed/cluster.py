"""How this process joins a Ray cluster: ``ray.init`` arguments from the typed ``ray`` config."""

from __future__ import annotations

import importlib.util
from typing import Any

from dj_pipeline.config.ingest import RayConfig
from dj_pipeline.errors import UserError

RAY_MISSING = "executor: ray needs Ray: pip install 'dj_pipeline[ray]' (or set executor: local in ingest.yaml)"


def ray_installed() -> bool:
    """Whether the optional ``ray`` package can be imported here."""
    return importlib.util.find_spec("ray") is not None


def ray_init_kwargs(config: RayConfig) -> dict[str, Any]:
    """``ray.init`` keyword arguments (besides ``address``) for ``config``.

    Worker output stays in Ray's own log files (``log_to_driver=False``): a failing track is
    already reported as an ``ingest_errors`` row, and the CLI's progress bars stay readable. A Ray
    started here (``address: ""``) gets no dashboard: nothing listens beyond what Ray needs.
    """
    kwargs: dict[str, Any] = {"namespace": config.namespace, "log_to_driver": False, "ignore_reinit_error": True}
    if not config.address:
        kwargs["include_dashboard"] = False
    return kwargs


def ray_address(config: RayConfig) -> str | None:
    """``ray.init``'s ``address``: ``None`` (start Ray in this process) when the config names none."""
    return config.address or None


def ensure_connected(config: RayConfig) -> None:
    """Connect this process to the cluster of ``config`` unless it already is connected to one."""
    if not ray_installed():
        raise UserError(RAY_MISSING)
    import ray

    if not ray.is_initialized():
        ray.init(address=ray_address(config), **ray_init_kwargs(config))


def cluster_totals() -> dict[str, float]:
    """The cluster's total resources (``CPU``, ``GPU``, ...) as Ray reports them now."""
    import ray

    return {k: float(v) for k, v in ray.cluster_resources().items()}
