"""Do the energy goals steer? Top-pick direction per goal, on any library, ours vs the k-NN baseline.

For every track as the current track and every goal: is there a candidate that keeps the strict
BPM and key filters *and* moves in the goal's direction (the engine's own rule: a whole energy
level, or within a level ``min_step_z`` of goal energy; peak is also met at the top levels)? Where
there is, does our top pick move in that direction -- by the analysed energy levels the engine
sees, and by the truth energy when the library has one? The target is >= 0.8 per goal. Also
counted: ``down`` picks whose tempo rises by more than the BPM tolerance without being marked
"bpm" (must be 0), and the same share for the baseline's top pick (cosine k-NN on z-scored
features, which ignores the goal).

    python bench/recommend_goals.py --data /tmp/reco/demo              # an ingested data dir
    python bench/recommend_goals.py --synthetic 200                    # a generated in-memory library
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dj_pipeline.recommend import SimilarityBundle  # noqa: E402
from dj_pipeline.recommend.energy import direction_ok  # noqa: E402
from dj_pipeline.recommend.filters import bpm_tolerance  # noqa: E402

GOALS = ("maintain", "up", "down", "peak")
GOAL_BLOCKERS = {"key", "bpm", "energy"}


def goal_rows(engine, truth_energy: pd.Series | None = None, currents: list[str] | None = None) -> pd.DataFrame:  # noqa: ANN001
    """One row per (current, goal): availability, our top pick's direction (analysed, truth),
    the baseline's, and whether a down step raised the tempo beyond the tolerance unmarked."""
    table = engine.table
    ids = [str(t) for t in (currents or list(table.index))]
    features = table.reset_index()
    bundle = SimilarityBundle(engine.config.similarity).fit(features)
    rows = []
    for cur in ids:
        base = [t for t, _ in bundle.neighbors(features, cur, k=1)]
        for goal in GOALS:
            spec = engine.config.goal(goal)
            t0 = time.perf_counter()
            full = engine.recommend(cur, goal=goal, top_k=len(table))
            latency = time.perf_counter() - t0
            if not full:
                continue
            available = any(not (set(r["relaxed"]) & GOAL_BLOCKERS) for r in full)
            top = full[0]
            cur_bpm = float(table.at[cur, "bpm"])
            rise = float(top["bpm"] or np.nan) - cur_bpm
            tol = bpm_tolerance(cur_bpm, engine.config.bpm) if np.isfinite(cur_bpm) else np.inf
            row = {
                "current": cur, "goal": goal, "available": available, "ours_analysed": "energy" not in top["relaxed"],
                "down_bpm_rise_unmarked": goal == "down" and rise > tol and "bpm" not in top["relaxed"],
                "relaxed": bool(top["relaxed"]), "latency_ms": 1000 * latency,
                "baseline_analysed": bool(_moves(engine, spec, cur, base[0])) if base else False,
            }  # fmt: skip
            if truth_energy is not None:
                row["ours_truth"] = _truth_moves(goal, truth_energy, cur, top["track_id"])
                row["baseline_truth"] = _truth_moves(goal, truth_energy, cur, base[0]) if base else False
            rows.append(row)
    return pd.DataFrame(rows)


def _moves(engine, spec, cur: str, pick: str) -> bool:  # noqa: ANN001
    """The engine's direction rule for one pair (the baseline judged as ours is)."""
    from dj_pipeline.recommend.pairs import intensity_z

    t = engine.table
    delta = float(intensity_z(t.loc[[pick]], engine.config)[0] - intensity_z(t.loc[[cur]], engine.config)[0])
    level_delta = int(t.at[pick, "energy_level"]) - int(t.at[cur, "energy_level"])
    return bool(direction_ok(spec, np.array([delta]), np.array([level_delta]), np.array([t.at[pick, "energy_level"]]), engine.config.energy)[0])


def _truth_moves(goal: str, truth: pd.Series, cur: str, pick: str) -> bool:
    if cur not in truth.index or pick not in truth.index:
        return False
    d = float(truth[pick]) - float(truth[cur])
    return d > 0 if goal in ("up", "peak") else d < 0 if goal == "down" else abs(d) <= 0.1


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per goal, over the queries where a compatible in-direction candidate exists."""
    out = {}
    for goal, sub in rows.groupby("goal", sort=False):
        avail = sub[sub["available"]]
        entry = {"queries": len(sub), "with_candidate": len(avail)}
        for col in ("ours_analysed", "baseline_analysed", "ours_truth", "baseline_truth"):
            if col in avail:
                entry[col] = float(avail[col].mean()) if len(avail) else float("nan")
        entry["down_bpm_rise_unmarked"] = int(sub["down_bpm_rise_unmarked"].sum())
        out[goal] = entry
    return pd.DataFrame(out).T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="ingested data directory")
    ap.add_argument("--lib", help="demo library folder with truth.csv (truth energy)")
    ap.add_argument("--synthetic", type=int, default=0, help="a generated in-memory library of N tracks instead")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    truth = None
    if args.synthetic:
        from dj_pipeline.recommend.synthetic import clustered_library

        engine = clustered_library(args.synthetic, seed=args.seed).engine()
        label = f"generated in-memory library, {args.synthetic} tracks, seed {args.seed}"
    else:
        from dj_pipeline.query import Recommender

        engine = Recommender(args.data).engine
        label = f"{args.data} ({len(engine.table)} tracks; levels {'from track_features' if engine.energy_levels_given else 'library rank'})"
        if args.lib:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from recommend_truth import load_truth

            truth = load_truth(args.lib, engine.table)["energy_level"]
    rows = goal_rows(engine, truth)
    print(f"goal direction of the top pick, {label}")
    print(summary(rows).to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"latency p50 {rows['latency_ms'].median():.1f} ms (full ranked list)")


if __name__ == "__main__":
    main()
