"""DSP-embedder quality on the generated demo library: do tracks of one style neighbour each other?

For every track: the pipeline's windows (select_windows + read_windows), embedded with the dsp
backend, pooled into a track vector. Reports, per window kind, the share of each track's k nearest
neighbours (cosine) that share its style, for the stored vectors and after library standardisation
(what the index uses), beside the random baseline. Target: >= 0.8 for track vectors (k = 5).

    python bench/embedding_quality.py [--tracks 48] [--seed 0] [--k 5] [--library DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.embeddings import fit_library_standardizer, get_embedder, pool_track_vector  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=56)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--duration-scale", type=float, default=1.0)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--library", help="existing demo library (with truth.csv) instead of generating one")
    ap.add_argument("--json", default="bench/results/embedding_quality.json")
    args = ap.parse_args()

    lib, truth = demo_library(args)
    emb = get_embedder("dsp")
    per_window: dict[str, list[np.ndarray]] = {}
    styles: list[str] = []
    audio_s = embed_s = 0.0
    for row in truth.itertuples(index=False):
        path = lib / row.path
        segs = read_windows(path, select_windows(path), emb.sr)
        names = list(segs)
        t0 = time.perf_counter()
        vecs = dict(zip(names, emb.embed([segs[n] for n in names], emb.sr)))
        vecs["track"] = pool_track_vector(vecs)
        embed_s += time.perf_counter() - t0
        audio_s += sum(s.size for s in segs.values()) / emb.sr
        for name, v in vecs.items():
            per_window.setdefault(name, []).append(v)
        styles.append(row.style)

    report: dict = {"tracks": len(styles), "styles": pd.Series(styles).value_counts().to_dict(), "k": args.k, "model": emb.model}
    report["random_baseline"] = random_label_agreement(styles)
    counts = pd.Series(styles).map(pd.Series(styles).value_counts()).to_numpy()
    report["best_possible"] = float(np.mean(np.minimum(args.k, counts - 1) / args.k))
    report["dsp_speed_x_realtime"] = audio_s / embed_s
    all_raw = np.vstack([np.stack(v) for v in per_window.values()])
    std = fit_library_standardizer(all_raw, "dsp")
    print(f"\nDSP embedder {emb.model} ({emb.dim}-d) on {len(styles)} demo tracks, {len(set(styles))} styles; k={args.k}")
    print(f"speed: {audio_s:.0f} s of window audio in {embed_s:.1f} s = {audio_s / embed_s:.0f}x real time (1 process)")
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
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1, default=float))


if __name__ == "__main__":
    main()
