"""Latency of ``Recommender.recommend`` in a warm process, one CPU core, and what loading it reads.

Two libraries:
1. ``--data``: an ingested data dir (the 240-track demo library), loaded with ``Recommender(data_dir)``.
2. a synthetic library of ``--n-tracks`` tracks written as a real data dir under ``--work-dir``
   (catalog + ``track_features`` batch files of ``--batch-size`` tracks + ``feature_stats`` +
   the intro/outro/track indexes through ``dj_pipeline.index.build_index``), loaded the same way.
   Features and vectors come from ``dj_pipeline.recommend.synthetic.clustered_library``: style
   clusters, not uniform random vectors (those defeat every ANN index). The intro index gets
   the kind the pipeline would choose (``--intro-kind auto``: HNSW at 50k) or a forced one;
   the track index too (the style index's k-NN graph and outside files search it); outro
   vectors are only looked up by id, so that index is written flat (no ANN build). The style
   index is built from the track index as the pipeline does (``build_style_index``); its build
   time is reported.
The synthetic dir is reused when its parameters match (``params.json``).

Queries: ``--queries`` timed calls after ``--warmup`` untimed ones; random current tracks,
goals in turn, and a history of 0-16 earlier tracks (the diversity term's path). FAISS and BLAS
get one thread and the process is pinned to one core (``--cpu``).
Loading: wall time of ``Recommender(data_dir)`` and every Parquet file it reads, by asset folder
("the whole library must not be loaded into pandas more than once").

    python bench/recommend_latency.py --data /tmp/recbench/data --n-tracks 50000 --dim 512
Target: p95 <= 50 ms at 50k tracks on one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy / faiss load their thread pools

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dj_pipeline.storage.parquet as parquet_module  # noqa: E402
from dj_pipeline.config.embeddings import load_embeddings_config  # noqa: E402
from dj_pipeline.index import build_index  # noqa: E402
from dj_pipeline.stages.index_stage import build_style_index  # noqa: E402
from dj_pipeline.query import Recommender  # noqa: E402
from dj_pipeline.recommend.synthetic import clustered_library  # noqa: E402
from dj_pipeline.storage import DataPaths, write_batch, write_parquet_atomic  # noqa: E402

SYNTH_BACKEND, SYNTH_MODEL = "synthetic", "clustered-v1"


def pin_one_core(cpu: int | None) -> str:
    """One FAISS thread, and the process on one core (``cpu``, default the first allowed)."""
    import faiss

    faiss.omp_set_num_threads(1)
    if not hasattr(os, "sched_setaffinity"):
        return "one FAISS/BLAS thread (no CPU affinity on this OS)"
    allowed = sorted(os.sched_getaffinity(0))
    core = allowed[0] if cpu is None else cpu
    os.sched_setaffinity(0, {core})
    return f"pinned to CPU {core} of {len(allowed)}; one FAISS/BLAS thread"


class ReadCounter:
    """Counts Parquet files read (``pyarrow.parquet.read_table`` in the storage layer, and
    ``pandas.read_parquet``) by asset folder, with their rows, while active."""

    def __init__(self) -> None:
        self.files: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()

    def __enter__(self) -> "ReadCounter":
        self._pq, self._pd = parquet_module.pq.read_table, pd.read_parquet

        def read_table(source, *a, **kw):
            table = self._pq(source, *a, **kw)
            self._count(source, table.num_rows)
            return table

        def read_parquet(source, *a, **kw):
            df = self._pd(source, *a, **kw)
            self._count(source, len(df))
            return df

        parquet_module.pq.read_table, pd.read_parquet = read_table, read_parquet
        return self

    def __exit__(self, *exc: object) -> None:
        parquet_module.pq.read_table, pd.read_parquet = self._pq, self._pd

    def _count(self, source: object, n_rows: int) -> None:
        folder = Path(str(source)).parent.name
        self.files[folder] += 1
        self.rows[folder] += n_rows

    def summary(self) -> str:
        return ", ".join(f"{k}: {self.files[k]} file(s) / {self.rows[k]} rows" for k in sorted(self.files)) or "nothing"


def load_recommender(data_dir: Path) -> tuple[Recommender, float, ReadCounter]:
    with ReadCounter() as reads:
        t0 = time.perf_counter()
        rec = Recommender(data_dir)
        load_s = time.perf_counter() - t0
    return rec, load_s, reads


def time_queries(rec: Recommender, n_queries: int, n_warmup: int, seed: int) -> np.ndarray:
    """Seconds per ``recommend`` call (warm-up calls not included)."""
    rng = np.random.default_rng(seed)
    ids = [str(t) for t in rec.engine.table.index]
    goals = list(rec.config.goals)
    out = []
    for i in range(n_warmup + n_queries):
        current = ids[int(rng.integers(len(ids)))]
        history = [ids[int(j)] for j in rng.choice(len(ids), int(rng.integers(0, 17)), replace=False)]
        t0 = time.perf_counter()
        rec.recommend(current, goal=goals[i % len(goals)], top_k=rec.config.top_k, history=history)
        if i >= n_warmup:
            out.append(time.perf_counter() - t0)
    return np.asarray(out)


def write_synthetic_data_dir(root: Path, n_tracks: int, dim: int, batch_size: int, intro_kind: str, seed: int) -> dict:
    """A data dir holding a synthetic library, as the pipeline would have written it."""
    params = {"n_tracks": n_tracks, "dim": dim, "batch_size": batch_size, "intro_kind": intro_kind, "seed": seed, "version": 2}
    marker = root / "params.json"
    if marker.exists() and json.loads(marker.read_text()) == params:
        return {**params, "reused": True}
    t0 = time.perf_counter()
    lib = clustered_library(n_tracks, dim=dim, seed=seed)
    paths = DataPaths(root).ensure()
    catalog = lib.tracks.copy()
    catalog["batch"] = [f"synth-{i // batch_size:04d}" for i in range(len(catalog))]
    feats = lib.features.merge(catalog[["track_id", "batch"]], on="track_id")
    for batch, part in feats.groupby("batch", sort=True):
        write_batch(paths, "track_features", str(batch), part.drop(columns="batch"))
    write_parquet_atomic(catalog, paths.asset_dir("track_catalog") / "catalog.parquet")
    stat_cols = ["energy", "onset_density", "brightness", "vocal_presence", "percussive_ratio", "sub", "bass", "lowmid", "loudness_lufs"]
    stats = pd.DataFrame({"column_name": stat_cols, "mean": [float(feats[c].mean()) for c in stat_cols], "std": [float(feats[c].std(ddof=0)) for c in stat_cols]})
    write_parquet_atomic(stats, paths.asset_dir("feature_stats") / "feature_stats.parquet")
    base = load_embeddings_config().index
    intro_cfg = base if intro_kind == "auto" else _forced_kind(base, intro_kind)
    flat_cfg = dataclasses.replace(base, flat_max_vectors=max(n_tracks, base.flat_max_vectors))
    t_index = time.perf_counter()
    meta = build_index(lib.intro.vectors, lib.intro.ids, paths.index_dir, "intro", SYNTH_BACKEND, SYNTH_MODEL, intro_cfg)
    intro_build_s = time.perf_counter() - t_index
    build_index(lib.outro.vectors, lib.outro.ids, paths.index_dir, "outro", SYNTH_BACKEND, SYNTH_MODEL, flat_cfg)
    # the track index is searched too (the style graph, outside files): the kind the pipeline picks
    build_index(lib.track.vectors, lib.track.ids, paths.index_dir, "track", SYNTH_BACKEND, SYNTH_MODEL, intro_cfg)
    marker.write_text(json.dumps(params))
    return {**params, "reused": False, "intro_index": meta["kind"], "intro_build_s": round(intro_build_s, 1), "write_s": round(time.perf_counter() - t0, 1)}


def _forced_kind(base, kind: str):
    if kind == "flat":
        return dataclasses.replace(base, flat_max_vectors=10**9)
    return dataclasses.replace(base, flat_max_vectors=0, approximate=kind)


def measure(label: str, data_dir: Path, args: argparse.Namespace) -> dict:
    rec, load_s, reads = load_recommender(data_dir)
    lat = time_queries(rec, args.queries, args.warmup, args.seed)
    intro = rec.engine.intro_index
    res = {
        "library": label, "n_tracks": len(rec.engine.table), "dim": int(np.asarray(intro.vectors).shape[1]),
        "intro_index": getattr(intro, "kind", type(intro).__name__), "load_s": load_s, "reads": dict(reads.files),
        "rows_read": dict(reads.rows), "n_queries": len(lat), "p50_ms": 1000 * float(np.percentile(lat, 50)),
        "p95_ms": 1000 * float(np.percentile(lat, 95)), "max_ms": 1000 * float(lat.max()), "mean_ms": 1000 * float(lat.mean()),
    }  # fmt: skip
    print(f"\n{label}: {res['n_tracks']} tracks, dim {res['dim']}, intro index {res['intro_index']}")
    print(f"  load Recommender(data_dir): {load_s:.2f} s; Parquet read: {reads.summary()}")
    multi = {k: v for k, v in reads.files.items() if k in ("track_catalog", "feature_stats") and v > 1}
    feats_files = len(list(DataPaths(data_dir).asset_dir("track_features").glob("*.parquet")))
    if reads.files.get("track_features", 0) > feats_files:
        multi["track_features"] = reads.files["track_features"]
    if multi:
        print(f"  NOTE: read more than once: {multi} (track_features has {feats_files} batch files)")
    print(f"  recommend(top_k={rec.config.top_k}, candidate_k={rec.config.candidate_k}) over {len(lat)} warm queries: "
          f"p50 {res['p50_ms']:.1f} ms, p95 {res['p95_ms']:.1f} ms, max {res['max_ms']:.1f} ms, mean {res['mean_ms']:.1f} ms")  # fmt: skip
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/tmp/recbench/data", help="ingested data dir ('' to skip)")
    ap.add_argument("--n-tracks", type=int, default=50_000, help="synthetic library size (0 to skip)")
    ap.add_argument("--dim", type=int, default=512, help="synthetic embedding size (CLAP 512, dsp 181)")
    ap.add_argument("--batch-size", type=int, default=500, help="tracks per synthetic track_features batch file")
    ap.add_argument("--intro-kind", default="auto", choices=["auto", "flat", "hnsw", "ivf"])
    ap.add_argument("--work-dir", default="/tmp/recbench/synthetic", help="where the synthetic data dir is kept")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cpu", type=int, default=None, help="core to pin to (default: the first allowed)")
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "recommend_latency.json"))
    args = ap.parse_args()
    if args.queries < 1 or args.warmup < 0:
        raise SystemExit("--queries must be >= 1 and --warmup >= 0")
    print(pin_one_core(args.cpu))
    results = []
    if args.data and not DataPaths(args.data).index_dir.is_dir():
        print(f"skipping the demo library: {args.data} is not an ingested data dir (bench/recommend_quality.py builds it)")
    elif args.data:
        results.append(measure(f"data dir {args.data}", Path(args.data), args))
    if args.n_tracks > 0:
        root = Path(args.work_dir) / f"n{args.n_tracks}_d{args.dim}_{args.intro_kind}"
        info = write_synthetic_data_dir(root, args.n_tracks, args.dim, args.batch_size, args.intro_kind, args.seed)
        t_style = time.perf_counter()
        style = build_style_index(DataPaths(root))
        info |= {"style_index": style["reused"], "style_build_s": round(time.perf_counter() - t_style, 1), "style_diffuse_s": style.get("diffuse_s")}
        print(f"\nsynthetic data dir {root}: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        results.append({**measure(f"synthetic {args.n_tracks}", root, args), "synthetic": info})
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=1), encoding="utf-8")
    print(f"\nJSON: {out}")
    target = [r for r in results if r["n_tracks"] >= 50_000]
    for r in target:
        print(f"target p95 <= 50 ms at {r['n_tracks']} tracks: {r['p95_ms']:.1f} ms -> {'PASS' if r['p95_ms'] <= 50 else 'FAIL'}")


if __name__ == "__main__":
    main()
