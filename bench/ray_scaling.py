"""Ray scaling figures (issue 17): batch throughput on the local pool and on Ray with 1 and 2 worker
processes, Ray's per-batch overhead against the local pool, and wall time / cost estimates for a
50k and a 1M track library on N CPU nodes and on GPU nodes.

One batch = the per-track stages of the pipeline (windows -> features -> embeddings, DSP), called
as the batch assets call them, on a generated demo library. Ray runs on a throwaway local cluster
(:mod:`dj_pipeline.distributed.local_cluster`): a head with 1 CPU (1 worker process), then a
second node process with 1 CPU (2 worker processes). The overhead is measured on a batch of
no-op tracks, so it is the cost of the machinery alone. Every figure of one run is measured under
the same machine load, printed with it (``os.getloadavg``); compare ratios, not absolute seconds,
on a shared machine.

The estimate takes the measured single-process CPU seconds per track (and, with ``--clap``, the
full-size CLAP model's CPU seconds per 10 s window, random weights) and scales them by the measured
2-process efficiency. GPU throughput is NOT measured here: ``--gpu-windows-per-s`` is an input
(measure it with ``bench/embedding_throughput.py --backend clap --device cuda`` on the GPU node).
Node prices are inputs too (``--cpu-node-usd-h``, ``--gpu-node-usd-h``), not measurements.

    python bench/ray_scaling.py [--tracks 8] [--lib /tmp/ray_scaling/lib] [--clap] [--json ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.config.ingest import load_ingest_config  # noqa: E402

LIBRARY_SIZES = (50_000, 1_000_000)
CPU_NODE_COUNTS = (1, 10, 50)
GPU_NODE_COUNTS = (1, 4, 16)
BATCH_SIZE = load_ingest_config().max_batch_size
CLAP_CHUNK_S = 10.0


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def catalog_of(library: Path) -> pd.DataFrame:
    """The library's catalog rows, as ``dj ingest``'s scan makes them (one batch)."""
    from dj_pipeline.catalog.scan import scan_library

    result = scan_library(library, pd.DataFrame(), pd.DataFrame(), load_ingest_config(overrides={"max_batch_size": 10**6}))
    return result.catalog


def run_batch(tracks: pd.DataFrame, workers: int = 0) -> dict[str, float]:
    """Seconds per stage for one batch through the stage functions the batch assets call
    (``workers``: the local pool's processes, 0 = one per core; Ray ignores it)."""
    from dj_pipeline.config.windows import load_windows_config
    from dj_pipeline.embeddings import get_embedder
    from dj_pipeline.stages import windows_for_batch
    from dj_pipeline.stages.embeddings_stage import embeddings_for_batch
    from dj_pipeline.stages.features_stage import features_for_batch

    ingest, out = load_ingest_config(overrides={"workers": workers}), {}
    t0 = time.perf_counter()
    windows = windows_for_batch(tracks, load_windows_config(), ingest, None, False)
    out["windows_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    features_for_batch(tracks, windows.rows, False, ingest)
    out["features_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    embeddings_for_batch(tracks, windows.rows, get_embedder("dsp"), False, ingest)
    out["embeddings_s"] = time.perf_counter() - t0
    out["total_s"] = sum(out.values())
    out["tracks_per_min"] = 60.0 * len(tracks) / out["total_s"]
    return out


def _noop_rows(track: Any) -> list[dict]:
    return []


def overhead_s(n_tracks: int) -> float:
    """Wall seconds of one stage over ``n_tracks`` no-op tracks: the executor's own cost per batch."""
    from dj_pipeline.stages.common import run_per_track

    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(n_tracks)], "path": ["-"] * n_tracks})
    ingest = load_ingest_config()
    t0 = time.perf_counter()
    run_per_track(tracks, _noop_rows, "noop", ["track_id"], False, workers=ingest.workers, min_tracks_per_worker=1)
    return time.perf_counter() - t0


@contextmanager
def executor_env(**env: str):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def clap_cpu_s_per_window(n_windows: int) -> float:
    """Full-size CLAP (random weights) on CPU, 1 torch thread: seconds per 10 s window (batch 8)."""
    import tempfile

    import numpy as np
    import torch

    from dj_pipeline.embeddings import get_embedder

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from embedding_throughput import save_full_size_clap  # the same full-size model as that bench

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="clap_full_") as d:
        emb = get_embedder("clap", model=save_full_size_clap(Path(d)), device="cpu")
    rng = np.random.default_rng(0)
    wins = [0.1 * rng.standard_normal(int(CLAP_CHUNK_S * emb.sr)).astype(np.float32) for _ in range(n_windows)]
    emb.embed(wins[:1], emb.sr)
    t0 = time.perf_counter()
    emb.embed(wins, emb.sr)
    return (time.perf_counter() - t0) / n_windows


def estimates(per_track_cpu_s: float, efficiency: float, batch_overhead_s: float, clap_windows_per_track: float,
              clap_cpu_s_per_window: float | None, args: argparse.Namespace) -> list[dict]:  # fmt: skip
    """Wall hours and node cost for each library size on N CPU nodes and N GPU nodes."""
    rows = []
    for n_tracks in LIBRARY_SIZES:
        overhead_h = n_tracks / BATCH_SIZE * batch_overhead_s / 3600
        for nodes in CPU_NODE_COUNTS:
            cores = nodes * args.cpu_node_cores * efficiency
            for backend, extra in (("dsp", 0.0), ("clap on CPU", clap_windows_per_track * (clap_cpu_s_per_window or float("nan")))):
                hours = n_tracks * (per_track_cpu_s + extra) / cores / 3600 + overhead_h
                rows.append({"tracks": n_tracks, "nodes": f"{nodes} x {args.cpu_node_cores}-core CPU", "embeddings": backend,
                             "wall_h": hours, "usd": hours * nodes * args.cpu_node_usd_h})  # fmt: skip
        for nodes in GPU_NODE_COUNTS:
            cpu_h = n_tracks * per_track_cpu_s / (nodes * args.gpu_node_cores * efficiency) / 3600
            gpu_h = n_tracks * clap_windows_per_track / (nodes * args.gpu_windows_per_s) / 3600
            hours = max(cpu_h, gpu_h) + overhead_h  # decoding/features on the node's CPUs overlap the GPU
            rows.append({"tracks": n_tracks, "nodes": f"{nodes} x GPU ({args.gpu_node_cores} cores)", "embeddings": "clap on GPU",
                         "wall_h": hours, "usd": hours * nodes * args.gpu_node_usd_h})  # fmt: skip
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=8)
    ap.add_argument("--lib", default="/tmp/ray_scaling/lib")
    ap.add_argument("--noop-tracks", type=int, default=BATCH_SIZE, help="tracks of the no-op batch (default: one full batch)")
    ap.add_argument("--clap", action="store_true", help="also time full-size CLAP on CPU (slow)")
    ap.add_argument("--cpu-node-cores", type=int, default=16)
    ap.add_argument("--cpu-node-usd-h", type=float, default=0.70, help="assumed price of one CPU node-hour")
    ap.add_argument("--gpu-node-cores", type=int, default=8)
    ap.add_argument("--gpu-node-usd-h", type=float, default=1.20, help="assumed price of one GPU node-hour")
    ap.add_argument("--gpu-windows-per-s", type=float, default=200.0, help="ASSUMED CLAP 10 s windows/s per GPU (not measured here)")
    ap.add_argument("--json", default="bench/results/ray_scaling.json")
    args = ap.parse_args()

    from dj_pipeline.demo import generate_library
    from dj_pipeline.distributed.local_cluster import start_local_cluster

    lib = Path(args.lib)
    if not (lib / "truth.csv").exists():
        generate_library(lib, n_tracks=args.tracks, n_samples=0, seed=3)
    tracks = catalog_of(lib / "tracks").head(args.tracks)
    audio_min = float(tracks["duration_s"].sum()) / 60
    report: dict[str, Any] = {"tracks": len(tracks), "audio_min": audio_min, "noop_tracks": args.noop_tracks, "load_start": load()}
    print(f"{len(tracks)} tracks, {audio_min:.1f} min of audio; {report['load_start']}")

    with executor_env(DJ_EXECUTOR="local"):
        report["local_1"] = run_batch(tracks, workers=1)  # in-process: the per-track CPU cost
    report["per_track_cpu_s"] = report["local_1"]["total_s"] / len(tracks)
    with executor_env(DJ_EXECUTOR="local"):
        report["local_pool_overhead_s"] = overhead_s(args.noop_tracks)
    with start_local_cluster(head_cpus=1, worker_nodes=0) as cluster, executor_env(DJ_EXECUTOR="ray", DJ_RAY_ADDRESS=cluster.address):
        report["ray_1"] = run_batch(tracks)
        cluster.add_worker_node(1)
        cluster.wait_for_nodes(2)
        report["ray_2"] = run_batch(tracks)
        report["ray_overhead_s"] = overhead_s(args.noop_tracks)
    report["load_end"] = load()
    report["efficiency_2"] = report["ray_2"]["tracks_per_min"] / (2 * report["ray_1"]["tracks_per_min"])
    report["overhead_ratio"] = report["ray_overhead_s"] / report["local_pool_overhead_s"]
    windows_s = 150.0  # the default sampling profile keeps ~150 s of each track (windows.yaml)
    report["clap_windows_per_track"] = windows_s / CLAP_CHUNK_S
    report["clap_cpu_s_per_window"] = clap_cpu_s_per_window(8) if args.clap else None
    report["estimates"] = estimates(report["per_track_cpu_s"], min(1.0, report["efficiency_2"]), report["ray_overhead_s"],
                                    report["clap_windows_per_track"], report["clap_cpu_s_per_window"], args)  # fmt: skip
    report["assumptions"] = {k: getattr(args, k) for k in ("cpu_node_cores", "cpu_node_usd_h", "gpu_node_cores", "gpu_node_usd_h", "gpu_windows_per_s")}
    print_report(report)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1, default=float))


def print_report(r: dict[str, Any]) -> None:
    print(f"\nper batch of {r['tracks']} tracks (windows + features + DSP embeddings); {r['load_start']} -> {r['load_end']}")
    for key, label in (("local_1", "local, 1 process"), ("ray_1", "ray, 1 worker process"), ("ray_2", "ray, 2 worker processes (2 nodes)")):
        b = r[key]
        print(f"  {label:<36} {b['total_s']:7.1f} s  {b['tracks_per_min']:6.2f} tracks/min  "
              f"(windows {b['windows_s']:.1f} s, features {b['features_s']:.1f} s, embeddings {b['embeddings_s']:.1f} s)")  # fmt: skip
    print(f"  2-process efficiency on Ray: {r['efficiency_2']:.2f} (1.00 = twice the 1-process throughput)")
    print(f"  per-track CPU cost (1 process): {r['per_track_cpu_s']:.2f} s")
    print(f"  per-batch overhead, a batch of {r['noop_tracks']} no-op tracks: local pool {r['local_pool_overhead_s']:.2f} s, "
          f"ray {r['ray_overhead_s']:.2f} s, ratio ray/local {r['overhead_ratio']:.2f}")  # fmt: skip
    if r["clap_cpu_s_per_window"] is not None:
        print(f"  full-size CLAP on CPU, 1 thread: {r['clap_cpu_s_per_window']:.2f} s per 10 s window")
    print(f"\nestimate (assumed: {r['assumptions']}):")
    print(f"  {'tracks':>9}  {'nodes':<24} {'embeddings':<12} {'wall h':>8} {'USD':>9}")
    for e in r["estimates"]:
        print(f"  {e['tracks']:>9}  {e['nodes']:<24} {e['embeddings']:<12} {e['wall_h']:8.1f} {e['usd']:9.0f}")


if __name__ == "__main__":
    main()
