"""Fit (and judge, held out) the fixed energy calibration of ``analysis.yaml`` (``energy:``).

    python bench/energy_calibrate.py --library /tmp/keyenergy/demo240_s0 --realset /work/realset \
        --features /tmp/keyenergy/energy_features.csv

Labels: the generated library's ``energy_level`` (truth.csv), and on GTZAN the genre: metal,
disco and hip-hop are "high", classical, jazz and blues "low" (the issue's check); the game songs
and the other genres carry no label and only enter the calibration reference.

1. Weights of the energy terms (``analysis/energy.py``) by a pairwise logistic ranking loss: every
   pair of generated tracks whose truth differs by ``--min-gap`` or more, and every high x low
   GTZAN pair, the generated source weighted ``--generated-share`` (3) to GTZAN's 1, with a small L2
   penalty.
2. The logistic calibration: ``center`` = the median raw score of the reference (generated
   tracks + real items), ``width`` such that its 5th and 95th percentiles land at 0.05 and 0.95.

Both steps are cross-validated in two folds (``holdout_split`` of the file names, for the
generated library and the real set alike): fit on one fold, report on the other. The figures
printed per fold are the held-out ones; the final constants are fitted on everything.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from realset import GTZAN, add_realset_argument, holdout_split, load_truth, realset_dir  # noqa: E402

from dj_pipeline.analysis import load_analysis_config  # noqa: E402
from dj_pipeline.analysis.energy import ENERGY_TERMS, calibrated_energy, energy_level, energy_terms, raw_energy  # noqa: E402
from dj_pipeline.config.analysis import EnergyConfig, EnergyWeights  # noqa: E402

MEASURES = ("loudness_lufs", "onset_density", "brightness", "percussive_ratio", "crest_db")
HIGH_GENRES, LOW_GENRES = ("metal", "disco", "hiphop"), ("classical", "jazz", "blues")
CALIBRATION_QUANTILES, CALIBRATION_TARGETS = (5.0, 95.0), (0.05, 0.95)


def analyse_items(items: pd.DataFrame) -> pd.DataFrame:
    """The energy measurements of each ``path`` exactly as the pipeline takes them (sampled windows)."""
    from dj_pipeline.analysis import analyze_segments
    from dj_pipeline.audio import probe
    from dj_pipeline.catalog.hashing import content_id
    from dj_pipeline.windows import read_windows, select_windows

    cfg = load_analysis_config()
    rows = []
    for i, path in enumerate(items["path"], 1):
        segments = read_windows(path, select_windows(path, track_id=content_id(path)), cfg.sr)
        f = analyze_segments(segments, cfg.sr, probe(path).duration_s, cfg)
        rows.append({m: f[m] for m in MEASURES})
        if i % 20 == 0:
            print(f"  ... {i}/{len(items)} analysed", flush=True)
    return pd.concat([items.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def labelled_items(library: Path | None, realset: Path | None) -> pd.DataFrame:
    """``path, source, group, truth_energy, genre`` for the generated library and the real set."""
    parts = []
    if library is not None:
        t = pd.read_csv(library / "truth.csv")
        parts.append(pd.DataFrame({"path": [str(library / p) for p in t["path"]], "source": "generated",
                                   "truth_energy": t["energy_level"].astype(float), "genre": t["style"]}))  # fmt: skip
    if realset is not None:
        t = load_truth(realset)
        parts.append(pd.DataFrame({"path": t["path"], "source": np.where(t["is_gtzan"], GTZAN, "game"),
                                   "truth_energy": np.nan, "genre": t["genre"].fillna("game")}))  # fmt: skip
    df = pd.concat(parts, ignore_index=True)
    df["group"] = np.where(df["genre"].isin(HIGH_GENRES), 1, np.where(df["genre"].isin(LOW_GENRES), -1, 0))
    df.loc[df["source"] != GTZAN, "group"] = 0
    return df


def term_matrix(df: pd.DataFrame, cfg: EnergyConfig) -> np.ndarray:
    """(n, len(ENERGY_TERMS)) energy terms of each row, clipped as the analysis clips them."""
    rows = []
    for r in df.itertuples():
        t = energy_terms(_num(r.loudness_lufs), _num(r.onset_density), _num(r.brightness), _num(r.percussive_ratio), _num(r.crest_db), cfg)
        rows.append([np.clip(t[n], -cfg.term_clip, cfg.term_clip) for n in ENERGY_TERMS])
    return np.asarray(rows, dtype=np.float64)


def _num(v: object) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def ranking_pairs(df: pd.DataFrame, min_gap: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """(higher, lower) row indices: [generated pairs by truth, GTZAN high x low genre pairs] (either may be empty)."""
    gen = np.flatnonzero(df["truth_energy"].notna().to_numpy())
    e = df["truth_energy"].to_numpy()[gen]
    hi, lo = np.nonzero(e[:, None] - e[None, :] >= min_gap)
    group = df["group"].to_numpy()
    hi_idx, lo_idx = np.flatnonzero(group > 0), np.flatnonzero(group < 0)
    return [(gen[hi], gen[lo]), (np.repeat(hi_idx, lo_idx.size), np.tile(lo_idx, hi_idx.size))]


def fit_weights(x: np.ndarray, pairs: list[tuple[np.ndarray, np.ndarray]], l2: float, shares: tuple[float, ...]) -> np.ndarray:
    """Term weights minimising the mean pairwise logistic loss of each label source, weighted by ``shares``."""
    diffs = [(x[h] - x[lo], share) for (h, lo), share in zip(pairs, shares) if len(h)]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2.0 * l2 * w
        for d, share in diffs:
            m = d @ w
            total += share * float(np.mean(np.logaddexp(0.0, -m)))
            grad = grad - share * (d * (1.0 / (1.0 + np.exp(m)))[:, None]).mean(axis=0)
        return total, grad

    return minimize(loss, np.ones(x.shape[1]), jac=True, method="L-BFGS-B").x


def calibration(raw: np.ndarray) -> tuple[float, float]:
    """``(center, width)`` of the logistic that maps the raw scores' 5th/95th percentiles to 0.05/0.95."""
    lo, hi = np.percentile(raw, CALIBRATION_QUANTILES)
    logit = np.log(CALIBRATION_TARGETS[1] / (1.0 - CALIBRATION_TARGETS[1]))
    return float(np.median(raw)), float(max(hi - lo, 1e-6) / (2.0 * logit))


def fitted_config(df: pd.DataFrame, base: EnergyConfig, min_gap: float, l2: float, generated_share: float) -> EnergyConfig:
    """``base`` with weights, center and width fitted on ``df``."""
    x = term_matrix(df, base)
    w = fit_weights(x, ranking_pairs(df, min_gap), l2, (generated_share, 1.0))
    w = w / np.abs(w).sum()
    center, width = calibration(x @ w)
    return replace(base, weights=EnergyWeights(**dict(zip(ENERGY_TERMS, np.round(w, 4).tolist()))), center=round(center, 4), width=round(width, 4))


def energies(df: pd.DataFrame, cfg: EnergyConfig) -> np.ndarray:
    x = term_matrix(df, cfg)
    return np.array([calibrated_energy(raw_energy(dict(zip(ENERGY_TERMS, row)), cfg), cfg) for row in x])


def report(df: pd.DataFrame, energy: np.ndarray, title: str) -> dict:
    """Spread (5th-95th percentile) per source, Spearman with the generated truth, GTZAN genre medians."""
    df = df.assign(energy=energy)
    out: dict = {"title": title}
    print(f"\n--- {title} ---")
    for source, g in df.groupby("source"):
        p5, p95 = np.percentile(g["energy"], [5, 95])
        out[f"spread_{source}"] = float(p95 - p5)
        print(f"  {source:12s} n={len(g):3d}  p5 {p5:.3f}  p95 {p95:.3f}  spread {p95 - p5:.3f}")
    real = df[df["source"] != "generated"]
    if len(real):
        p5, p95 = np.percentile(real["energy"], [5, 95])
        out["spread_real"] = float(p95 - p5)
        print(f"  {'real (all)':12s} n={len(real):3d}  p5 {p5:.3f}  p95 {p95:.3f}  spread {p95 - p5:.3f}")
    gen = df[df["truth_energy"].notna()]
    if len(gen) > 2:
        out["spearman_generated"] = float(spearmanr(gen["energy"], gen["truth_energy"])[0])
        print(f"  generated: Spearman with the truth energy {out['spearman_generated']:.3f}")
    gtzan = df[df["source"] == GTZAN]
    if len(gtzan):
        med = gtzan.groupby("genre")["energy"].median().sort_values()
        print("  GTZAN median energy: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
        hi, lo = med.reindex(HIGH_GENRES).min(), med.reindex(LOW_GENRES).max()
        out["gtzan_high_min_minus_low_max"] = float(hi - lo)
        print(f"  lowest high-genre median {hi:.2f} vs highest low-genre median {lo:.2f}: {'OK' if hi > lo else 'NOT separated'}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", type=Path, default=None, help="a generated library (truth.csv with energy_level)")
    add_realset_argument(ap)
    ap.add_argument("--features", type=Path, default=Path("/tmp/energy_features.csv"), help="measurement cache (read when present)")
    ap.add_argument("--min-gap", type=float, default=0.1, help="generated pairs whose truth differs by at least this")
    ap.add_argument("--l2", type=float, default=0.01)
    ap.add_argument("--generated-share", type=float, default=3.0, help="weight of the generated pairs' loss (GTZAN pairs: 1)")
    args = ap.parse_args()
    if args.features.is_file():
        df = pd.read_csv(args.features)
    else:
        df = analyse_items(labelled_items(args.library, realset_dir(args.realset)))
        df.to_csv(args.features, index=False)
    base = load_analysis_config().energy
    print(f"{len(df)} items: " + ", ".join(f"{k} {v}" for k, v in df["source"].value_counts().items()))
    report(df, energies(df, base), "current analysis.yaml (all items)")
    for fold in (0, 1):
        test = holdout_split(df["path"].map(lambda p: Path(p).name), 2, fold)
        cfg = fitted_config(df[~test].reset_index(drop=True), base, args.min_gap, args.l2, args.generated_share)
        held = df[test].reset_index(drop=True)
        report(held, energies(held, cfg), f"fold {fold} held out (fitted on the other fold: {cfg.weights}, center {cfg.center}, width {cfg.width})")
    final = fitted_config(df, base, args.min_gap, args.l2, args.generated_share)
    e = energies(df, final)
    report(df, e, "final constants, all items (fitted on these: not a result)")
    levels = pd.Series([energy_level(v) for v in e]).value_counts().sort_index()
    print("  energy_level histogram: " + ", ".join(f"{k}:{v}" for k, v in levels.items()))
    print("\nanalysis.yaml energy:")
    print("  weights: {" + ", ".join(f"{k}: {getattr(final.weights, k)}" for k in ENERGY_TERMS) + "}")
    print(f"  center: {final.center}\n  width: {final.width}")


if __name__ == "__main__":
    main()
