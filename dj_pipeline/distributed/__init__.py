"""Run the per-track work of a batch on a Ray cluster (``ingest.yaml: executor: ray``).

The Dagster asset graph, its partitions (one per ingest batch), metadata and Parquet outputs do
not change: a batch asset still calls its stage function, and the stage's per-track loop
(:func:`dj_pipeline.stages.common.run_per_track`) asks :func:`track_results` for the results
instead of using the local process pool. Per-track work (windows, features, drum profiles) runs
as Ray tasks, which Ray re-runs when their worker or node is lost; embeddings run in Ray actors
that build the embedder once and keep it (one actor per GPU on a cluster with GPUs). The process
running the Dagster step (``dj ingest``, or a ``dagster dev`` step process) joins the cluster as
a Ray driver on first use (:func:`ensure_connected`); where that process should itself run on the
cluster, dagster-ray's ``RayRunLauncher`` submits the whole run as a Ray job (``deploy/``).
"""

from dj_pipeline.distributed.cluster import ensure_connected, ray_init_kwargs, ray_installed
from dj_pipeline.distributed.remote import track_results

__all__ = ["ensure_connected", "ray_init_kwargs", "ray_installed", "track_results"]
