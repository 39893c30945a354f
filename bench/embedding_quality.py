"""Embedding quality: do tracks of one style (genre, source) neighbour each other?

Generated demo library (always): for every track, the pipeline's windows (select_windows +
read_windows), embedded with each backend of ``--backends``, pooled into a track vector. Reports,
per window kind, the share of each track's k nearest neighbours (cosine) that share its style, for
the stored vectors and after library standardisation (what the index uses), beside the random
baseline. Target: >= 0.8 for track vectors (k = 5).

Real dev set (``--realset DIR``, or ``--realset`` alone for $DJ_REALSET / /work/realset): genre@5
and genre@10 on the 99 GTZAN clips, the same-repository share of the 5 nearest game songs, per
backend beside the MFCC-statistics baseline and random, with x real time per core
(``bench/embedding_real.py``).

    python bench/embedding_quality.py [--tracks 56] [--seed 0] [--k 5] [--library DIR]
    python bench/embedding_quality.py --realset [--backends dsp,musicnn] [--skip-generated]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedding_real import print_table, realset_table  # noqa: E402  (bench/ is on the path)
from realset import load_truth, realset_dir  # noqa: E402
from dj_pipeline.embeddings import BackendUnavailableError, fit_library_standardizer, get_embedder, pool_track_vector  # noqa: E402
from dj_pipeline.index import neighbour_label_agreement, random_label_agreement  # noqa: E402
from dj_pipeline.windows import read_windows, select_windows  # noqa: E402


def demo_library(args: argparse.Namespace) -> tuple[Path, pd.DataFrame]:
    if args.library:
        lib = Path(args.library)
        return lib, pd.read_csv(lib / "truth.csv")
    from dj_pipeline.demo import generate_library

    lib = Path(tempfile.mkdtemp(prefix="dj_embed_quality_"))
    t0 = time.perf_counter()
    truth = generate_library(lib, n_tracks=args.tracks, n_samples=1, seed=args.seed, duration_scale=args.duration_scale)
    print(f"generated {len(truth)} demo tracks in {time.perf_counter() - t0:.1f} s -> {lib}")
    return lib, truth


def generated_quality(args: argparse.Namespace, backend: str, lib: Path, truth: pd.DataFrame) -> dict:
    """Style agreement of one backend's vectors on the generated library (stored and standardised)."""
    emb = get_embedder(backend)
    per_window: dict[str, list[np.ndarray]] = {}
    styles: list[str] = []
    audio_s = embed_s = 0.0
    for row in truth.itertuples(index=False):
        path = lib / row.path
        segs = read_windows(path, select_windows(path), emb.sr)
        names = list(segs)
        t0 = time.process_time()
        vecs = dict(zip(names, emb.embed([segs[n] for n in names], emb.sr)))
        vecs["track"] = pool_track_vector(vecs)
        embed_s += time.process_time() - t0
        audio_s += sum(s.size for s in segs.values()) / emb.sr
        for name, v in vecs.items():
            per_window.setdefault(name, []).append(v)
        styles.append(row.style)

    report: dict = {"tracks": len(styles), "styles": pd.Series(styles).value_counts().to_dict(), "k": args.k, "model": emb.model}
    report["random_baseline"] = random_label_agreement(styles)
    counts = pd.Series(styles).map(pd.Series(styles).value_counts()).to_numpy()
    report["best_possible"] = float(np.mean(np.minimum(args.k, counts - 1) / args.k))
    report["speed_x_realtime_per_core"] = audio_s / embed_s
    all_raw = np.vstack([np.stack(per_window[n]) for n in ("intro", "outro", "track") if n in per_window])
    std = fit_library_standardizer(all_raw, emb.backend)
    print(f"\n{backend} embedder {emb.model} ({emb.dim}-d) on {len(styles)} demo tracks, {len(set(styles))} styles; k={args.k}")
    print(f"speed: {audio_s:.0f} s of window audio in {embed_s:.1f} CPU s = {audio_s / embed_s:.0f}x real time per core")
    print(f"{'vectors':<10}{'stored':>10}{'standardised':>14}{'random':>10}")
    for name in ["track", "intro", "outro", "main"]:
        if name not in per_window or len(per_window[name]) != len(styles):
            continue
        raw = np.stack(per_window[name])
        a_raw = neighbour_label_agreement(raw, styles, args.k)
        a_std = neighbour_label_agreement(std.transform(raw), styles, args.k)
        report[f"{name}_stored"], report[f"{name}_standardised"] = a_raw, a_std
        print(f"{name:<10}{a_raw:>10.3f}{a_std:>14.3f}{report['random_baseline']:>10.3f}")
    print(f"best possible with these style counts: {report['best_possible']:.3f}")
    verdict = "PASS" if report["track_standardised"] >= 0.8 else "FAIL"
    print(f"target: track vectors (standardised) >= 0.80 -> {verdict}")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=56)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration-scale", type=float, default=1.0)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--library", help="existing demo library (with truth.csv) instead of generating one")
    ap.add_argument("--backends", default="dsp,musicnn", help="comma-separated backends to compare (those not installed are reported)")
    ap.add_argument("--realset", nargs="?", const="", default=None, help="also score the real dev set (DIR; alone: $DJ_REALSET or /work/realset)")
    ap.add_argument("--vectors-dir", help="scratch folder to keep/reuse the real set's vectors per backend (never commit it)")
    ap.add_argument("--skip-generated", action="store_true", help="only the real dev set")
    ap.add_argument("--json", default="bench/results/embedding_quality.json")
    args = ap.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    report: dict = {"uptime": os.getloadavg()}
    if args.realset is not None:
        root = realset_dir(args.realset or None)
        if root is None:
            raise SystemExit(f"no real dev set at {args.realset or '$DJ_REALSET or /work/realset'} (truth.csv missing)")
        makers = {b: (lambda b=b: get_embedder(b)) for b in backends}
        rows = realset_table(load_truth(root), makers, Path(args.vectors_dir) if args.vectors_dir else None)
        print_table(rows, root)
        report["realset"] = rows
    if not args.skip_generated:
        lib, truth = demo_library(args)
        for backend in backends:
            try:
                report[f"generated_{backend}"] = generated_quality(args, backend, lib, truth)
            except BackendUnavailableError as exc:
                print(f"\n{backend}: not available here ({str(exc).split('. ')[0]})")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
