"""Tune the style vectors (``index.style``) on the real dev library, judged by genre@10 on GTZAN.

The 161 real items (99 GTZAN clips + 62 game songs) are one library: their track vectors, as
``embedding_quality.py --realset --vectors-dir DIR`` stored them, go through the library
standardiser and the style diffusion exactly as ``index_stage`` does; the style vectors of the
GTZAN clips are then scored by genre@10 (cosine, leave-self-out, among the GTZAN clips).

Held out: the GTZAN clips are split in two folds by a fixed hash of their names
(``realset.holdout_split``). Each fold picks the setting that is best on its clips; that setting
is reported on the *other* fold, beside the shipped setting and the undiffused vectors (alpha 0).

Also printed: the outro->intro search the recommender starts from (the current clip's outro
vector against every other clip's intro vector, standardised), genre@10 per backend.

    python bench/embedding_quality.py --realset --skip-generated --vectors-dir /tmp/emb_vectors
    python bench/embedding_style.py --vectors-dir /tmp/emb_vectors [--backends dsp,musicnn]
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from embedding_real import INDEXED, RealVectors  # noqa: E402,F401  (RealVectors: for unpickling)
from realset import add_realset_argument, holdout_split, load_truth, realset_dir  # noqa: E402

from dj_pipeline.config.embeddings import StyleConfig, load_embeddings_config  # noqa: E402
from dj_pipeline.embeddings import fit_library_standardizer  # noqa: E402
from dj_pipeline.index.style import style_vectors  # noqa: E402

K = 10
GRID = {"alpha": (0.0, 0.5, 0.7, 0.8, 0.9, 0.95), "neighbors_per_sqrt_n": (0.25, 0.5, 1.0), "weight_power": (1.0, 3.0)}


def per_item_agreement(vectors: np.ndarray, labels: np.ndarray, k: int = K) -> np.ndarray:
    """Each item's share of its ``k`` nearest other items (cosine) with its label."""
    x = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    nn = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return (labels[nn] == labels[:, None]).mean(axis=1)


def cross_agreement(queries: np.ndarray, targets: np.ndarray, labels: np.ndarray, k: int = K) -> np.ndarray:
    """Each query row's share of its ``k`` nearest *other* target rows with its label (outro -> intro)."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    t = targets / np.maximum(np.linalg.norm(targets, axis=1, keepdims=True), 1e-12)
    sims = q @ t.T
    np.fill_diagonal(sims, -np.inf)
    nn = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return (labels[nn] == labels[:, None]).mean(axis=1)


def load_vectors(vectors_dir: Path, backend: str) -> RealVectors | None:
    f = vectors_dir / f"{backend}.pkl"
    if not f.is_file():
        return None
    with f.open("rb") as fh:
        return pickle.load(fh)


def standardised(vec: RealVectors, window: str) -> np.ndarray:
    """One window's vectors of every item in the index space (standardiser fitted as index_stage does)."""
    fit_on = np.vstack([np.stack([w[n] for w in vec.windows if n in w]) for n in INDEXED])
    std = fit_library_standardizer(fit_on, vec.name)
    return std.transform(np.stack([w.get(window, w["track"]) for w in vec.windows]))


def tune_backend(vec: RealVectors, gtzan: np.ndarray, genres: np.ndarray, folds: np.ndarray, shipped: StyleConfig) -> dict:
    """Grid over ``GRID`` (scored per GTZAN clip), cross-fold picks, the shipped setting, alpha 0."""
    tracks = standardised(vec, "track")
    trials = [replace(shipped, **dict(zip(GRID, values))) for values in itertools.product(*GRID.values())]
    trials = [t for t in trials if t.alpha > 0] + [replace(shipped, alpha=0.0), shipped]
    per_item = np.stack([per_item_agreement(style_vectors(tracks, t)[gtzan], genres) for t in trials])
    report: dict = {"shipped": float(per_item[-1].mean()), "undiffused": float(per_item[-2].mean()), "folds": []}
    for fold in (0, 1):
        tune, test = folds != fold, folds == fold
        best = int(np.argmax(per_item[:, tune].mean(axis=1)))
        report["folds"].append({
            "tuned_on": int(tune.sum()), "held_out": int(test.sum()), "setting": {k: getattr(trials[best], k) for k in GRID},
            "tuned_genre@10": float(per_item[best, tune].mean()), "held_out_genre@10": float(per_item[best, test].mean()),
            "held_out_shipped": float(per_item[-1, test].mean()), "held_out_undiffused": float(per_item[-2, test].mean()),
        })  # fmt: skip
    best_all = int(np.argmax(per_item.mean(axis=1)))
    report["best_on_all"] = {"setting": {k: getattr(trials[best_all], k) for k in GRID}, "genre@10": float(per_item[best_all].mean())}
    outro, intro = standardised(vec, "outro")[gtzan], standardised(vec, "intro")[gtzan]
    report["outro_to_intro_genre@10"] = float(cross_agreement(outro, intro, genres).mean())
    report["track_to_track_genre@10"] = float(per_item_agreement(tracks[gtzan], genres).mean())
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_realset_argument(ap)
    ap.add_argument("--vectors-dir", required=True, help="where embedding_quality.py --realset --vectors-dir kept the vectors")
    ap.add_argument("--backends", default="dsp,musicnn")
    ap.add_argument("--json", default="bench/results/embedding_style.json")
    args = ap.parse_args()
    root = realset_dir(args.realset)
    if root is None:
        raise SystemExit("no real dev set (truth.csv) at --realset / $DJ_REALSET / /work/realset")
    truth = load_truth(root)
    gtzan = truth["is_gtzan"].to_numpy()
    genres = truth["genre"][gtzan].to_numpy()
    folds = holdout_split(truth["file"][gtzan], n_folds=2, fold=1).astype(int)
    shipped = load_embeddings_config().index.style
    out: dict = {"shipped": asdict(shipped), "grid": GRID}
    print(f"Style vectors on the real dev library ({len(truth)} items), genre@{K} of the {gtzan.sum()} GTZAN clips")
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        vec = load_vectors(Path(args.vectors_dir), backend)
        if vec is None:
            print(f"{backend}: no vectors in {args.vectors_dir} (run embedding_quality.py --realset --vectors-dir first)")
            continue
        rep = tune_backend(vec, gtzan, genres, folds, shipped)
        out[backend] = rep
        print(f"\n{backend} ({vec.model})")
        print(f"  track vectors {rep['undiffused']:.3f} | style vectors, shipped setting {rep['shipped']:.3f} | outro->intro {rep['outro_to_intro_genre@10']:.3f}")
        for f in rep["folds"]:
            print(f"  tuned on {f['tuned_on']} clips -> {f['setting']}: held-out {f['held_out']} clips {f['held_out_genre@10']:.3f} "
                  f"(shipped {f['held_out_shipped']:.3f}, undiffused {f['held_out_undiffused']:.3f})")  # fmt: skip
        print(f"  best on all clips (not a result): {rep['best_on_all']['setting']} {rep['best_on_all']['genre@10']:.3f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
