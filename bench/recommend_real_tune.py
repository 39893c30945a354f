"""Re-rank weights that drive genre (style vs similarity) judged on the real dev set, held out.

Scans ``weights.style`` and ``weights.similarity`` of ``recommend.yaml`` on an ingested real set
(``bench/recommend_real.py`` says how to ingest it). Queries are the GTZAN clips, goal maintain,
top 10; every library track stays a candidate. A setting is chosen on the queries of
``holdout_split`` fold 1 (tune) and reported on fold 0 (held out), beside the shipped weights,
with the BPM/key compatibility of the picks (chart/annotated labels) and the goal direction of the
chosen setting, so that a gain in genre@10 that costs compatibility is visible.

    python bench/recommend_real_tune.py --data /tmp/reco_real/data
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from realset import add_realset_argument, holdout_split, realset_dir  # noqa: E402
from recommend_goals import goal_rows, summary  # noqa: E402
from recommend_real import judge, truth_table  # noqa: E402

from dj_pipeline.config.recommend import load_recommend_config  # noqa: E402
from dj_pipeline.music.keys import camelot_distance  # noqa: E402
from dj_pipeline.query import Recommender  # noqa: E402
from dj_pipeline.recommend import bpm_compatible  # noqa: E402
from dj_pipeline.recommend.loader import load_engine  # noqa: E402

STYLE_GRID = (0.0, 25.0, 50.3, 100.0, 200.0)  # 50.3 and 0.739: the shipped weights
SIMILARITY_GRID = (0.739, 5.0, 20.0)


def score(rec: Recommender, truth: pd.DataFrame, queries: list[str], k: int) -> dict[str, float]:
    """Mean genre@10 and BPM/key compatibility of the top ``k`` (goal maintain) over ``queries``."""
    rows = [judge(rec, truth, q, [r["track_id"] for r in rec.recommend(q, goal="maintain", top_k=k)]) for q in queries]
    return pd.DataFrame(rows)[["genre@10", "bpm", "key", "both"]].mean().to_dict()


def genre_bound(rec: Recommender, truth: pd.DataFrame, queries: list[str], k: int) -> tuple[float, float]:
    """Mean of min(k, same-genre candidates)/k over ``queries``: candidates that pass the analysed
    BPM filter, then also the key rule (Camelot distance) for every pair. The ceiling on genre@k
    of any list that keeps the DJ rules (the key rule really applies only where both keys are clear)."""
    table, cfg = rec.engine.table, rec.config
    bpm_only, bpm_key = [], []
    for cur in queries:
        others = [o for o in truth.index if o != cur]
        ok_bpm = bpm_compatible(float(table.at[cur, "bpm"]), table.loc[others, "bpm"].astype(float).to_numpy(), cfg.bpm)
        cam = table["camelot"]
        ok_key = np.array([isinstance(cam[cur], str) and isinstance(cam[o], str) and camelot_distance(cam[cur], cam[o]) <= cfg.key.max_distance for o in others])
        same = (truth.loc[others, "genre"] == truth.at[cur, "genre"]).to_numpy()
        bpm_only.append(min(k, int((same & ok_bpm).sum())) / k)
        bpm_key.append(min(k, int((same & ok_bpm & ok_key).sum())) / k)
    return round(float(np.mean(bpm_only)), 3), round(float(np.mean(bpm_key)), 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="/tmp/reco_real/data")
    add_realset_argument(ap)
    ap.add_argument("--top-k", type=int, default=10)
    args = ap.parse_args()
    root = realset_dir(args.realset)
    if root is None:
        raise SystemExit("error: the real dev set is not extracted (--realset DIR or $DJ_REALSET)")
    base_cfg = load_recommend_config()
    base = Recommender(args.data, config=base_cfg)
    truth = truth_table(base, root)
    gtzan = truth[truth["is_gtzan"].astype(bool)]
    held = holdout_split(pd.Series([Path(p).name for p in gtzan["path"]]), n_folds=2, fold=0)
    folds = {"tune (fold 1)": list(gtzan.index[~held]), "held out (fold 0)": list(gtzan.index[held])}
    print(f"{len(gtzan)} GTZAN queries: {len(folds['tune (fold 1)'])} tune, {len(folds['held out (fold 0)'])} held out")
    rows = []
    for style in STYLE_GRID:
        for sim in SIMILARITY_GRID:
            cfg = replace(base_cfg, weights=replace(base_cfg.weights, style=style, similarity=sim))
            rec = Recommender(args.data, config=cfg, engine=load_engine(base.paths, cfg))
            for name, qs in folds.items():
                rows.append({"style": style, "similarity": sim, "fold": name, **score(rec, truth, qs, args.top_k)})
    table = pd.DataFrame(rows)
    print(table.pivot_table(index=["style", "similarity"], columns="fold", values=["genre@10", "bpm", "key"]).to_string(float_format=lambda x: f"{x:.3f}"))
    tune = table[table["fold"] == "tune (fold 1)"]
    best = tune.sort_values(["genre@10", "both"], ascending=False).iloc[0]
    held_rows = table[table["fold"] == "held out (fold 0)"].set_index(["style", "similarity"])
    shipped = (base_cfg.weights.style, base_cfg.weights.similarity)
    print(f"\nchosen on fold 1: style {best['style']}, similarity {best['similarity']}")
    for label, key in (("shipped", shipped), ("chosen", (best["style"], best["similarity"]))):
        if key in held_rows.index:
            r = held_rows.loc[key]
            print(f"held out (fold 0) {label:8s} {tuple(float(x) for x in key)}: genre@10 {r['genre@10']:.3f}  bpm {r['bpm']:.3f}  key {r['key']:.3f}  both {r['both']:.3f}")
    cfg = replace(base_cfg, weights=replace(base_cfg.weights, style=float(best["style"]), similarity=float(best["similarity"])))
    print("\ngoal direction of the top pick, chosen weights (analysed levels)")
    print(summary(goal_rows(load_engine(base.paths, cfg))).to_string(float_format=lambda x: f"{x:.2f}"))
    print(f"\ngenre@10 any top {args.top_k} can reach within the analysed BPM filter (and the key rule for every pair): "
          f"{genre_bound(base, truth, list(gtzan.index), args.top_k)}; k-NN genre@10: bench/recommend_real.py")


if __name__ == "__main__":
    main()
