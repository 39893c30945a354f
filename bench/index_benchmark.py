"""Vector index build time, query latency (p50/p95, k=200, one query at a time) and recall@10 of the
approximate kinds against exact flat search, on synthetic CLUSTERED unit vectors.

Data: a Gaussian mixture around ``--centres`` unit centres in 512-d (points = centre + ``--spread`` *
N(0, I/d), normalised); the centres themselves cluster around ``--styles`` directions, so similarity
is graded as in real embeddings (styles > sub-styles > tracks). Queries are fresh draws from the
same mixture. Uniform random vectors would defeat every ANN index and say nothing about real use.
Indexes are built through ``dj_pipeline.index.build_index`` (kind forced per row) and searched through
``VectorIndex.search`` with FAISS limited to ``--query-threads`` (default one core).

    python bench/index_benchmark.py                 # 10k and 50k: flat, hnsw, ivf
    python bench/index_benchmark.py --full          # adds 1M (flat and ivf; HNSW build is too slow)
Targets: p95 <= 5 ms at 50k and <= 20 ms at 1M on one core; recall@10 >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.config.embeddings import load_embeddings_config  # noqa: E402
from dj_pipeline.index import VectorIndex, build_index, recall_at_k  # noqa: E402


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def mixture_centres(n_centres: int, n_styles: int, style_spread: float, dim: int, rng: np.random.Generator) -> np.ndarray:
    """Unit centres that themselves cluster around ``n_styles`` style directions (graded similarity)."""
    styles = _unit(rng.standard_normal((n_styles, dim)))
    return _unit(styles[rng.integers(0, n_styles, n_centres)] + (style_spread / np.sqrt(dim)) * rng.standard_normal((n_centres, dim)))


def clustered_vectors(
    n: int, dim: int, n_centres: int, spread: float, seed: int, centres: np.ndarray | None = None, n_styles: int = 64, style_spread: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors: centre + ``spread`` * N(0, I/d), normalised; also returns the centres."""
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = mixture_centres(n_centres, n_styles, style_spread, dim, rng)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for a in range(0, n, step):
        b = min(n, a + step)
        x = centres[rng.integers(0, centres.shape[0], b - a)] + (spread / np.sqrt(dim)) * rng.standard_normal((b - a, dim), dtype=np.float32)
        out[a:b] = _unit(x)
    return out, centres


def exact_top(x: np.ndarray, q: np.ndarray, k: int) -> list[np.ndarray]:
    sims = q @ x.T
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return [p[np.argsort(-s[p])] for p, s in zip(part, sims)]


def measure(idx: VectorIndex, queries: np.ndarray, k: int) -> tuple[list[float], list[list[str]]]:
    lat, found = [], []
    idx.search(queries[:5], k)  # warm-up
    for q in queries:
        t0 = time.perf_counter()
        _, ids = idx.search(q[None, :], k)
        lat.append((time.perf_counter() - t0) * 1000.0)
        found.append(ids[0])
    return lat, found


def run_size(n: int, kinds: list[str], args: argparse.Namespace, out_dir: Path) -> list[dict]:
    import faiss

    t0 = time.perf_counter()
    x, centres = clustered_vectors(n, args.dim, args.centres, args.spread, args.seed, n_styles=args.styles, style_spread=args.style_spread)
    q, _ = clustered_vectors(args.queries, args.dim, args.centres, args.spread, args.seed + 1, centres)
    ids = [f"t{i}" for i in range(n)]
    truth = [[ids[j] for j in row] for row in exact_top(x, q, 10)]
    print(f"\n{n:,} vectors x {args.dim}-d, {args.centres} centres around {args.styles} styles, spread {args.spread} "
          f"(data {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    rows = []
    for kind in kinds:
        overrides = {"flat_max_vectors": n if kind == "flat" else 0, "approximate": "ivf" if kind == "flat" else kind}
        cfg = load_embeddings_config(overrides={"index": overrides}).index
        faiss.omp_set_num_threads(args.build_threads)
        meta = build_index(x, ids, out_dir, f"bench_{kind}", "dsp", "bench", config=cfg)
        idx = VectorIndex.load(out_dir, f"bench_{kind}", config=cfg)
        faiss.omp_set_num_threads(args.query_threads)
        lat, found = measure(idx, q, args.k)
        row = {
            "n": n, "kind": meta["kind"], "params": meta["params"], "build_s": meta["build_s"],
            "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
            "recall_at_10": recall_at_k([f[:10] for f in found], truth, 10),
        }  # fmt: skip
        rows.append(row)
        print(f"  {row['kind']:<5} build {row['build_s']:7.2f} s  p50 {row['p50_ms']:7.2f} ms  p95 {row['p95_ms']:7.2f} ms  "
              f"recall@10 {row['recall_at_10']:.3f}  {row['params']}")  # fmt: skip
        del idx
        for f in out_dir.glob(f"bench_{kind}.*"):
            f.unlink()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    ap.add_argument("--full", action="store_true", help="also 1,000,000 vectors (flat and ivf)")
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--centres", type=int, default=3000)
    ap.add_argument("--spread", type=float, default=0.6, help="noise norm relative to the unit centre")
    ap.add_argument("--styles", type=int, default=64, help="the centres cluster around this many directions")
    ap.add_argument("--style-spread", type=float, default=1.0)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--query-threads", type=int, default=1)
    ap.add_argument("--json", default="bench/results/index_benchmark.json")
    args = ap.parse_args()
    print(f"query latency: one query per call, k={args.k}, FAISS threads {args.query_threads}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="dj_index_bench_") as d:
        for n in args.sizes:
            rows += run_size(n, ["flat", "hnsw", "ivf"], args, Path(d))
        if args.full:
            rows += run_size(1_000_000, ["flat", "ivf"], args, Path(d))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
