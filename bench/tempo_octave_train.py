"""Fit and measure the learned tempo octave choice (``dj_pipeline/analysis/tempo_octave.py``).

    python bench/tempo_octave_train.py --realset /work/realset [--cache /tmp/tempo_octave_cache]
        [--demo-train /tmp/to13/demo_s1] [--demo-eval /tmp/to13/demo_s0] [--select] [--write-model]

Training data (only): the ``tune`` half (fold 1) of ``bench/realset.py``'s ``holdout_split`` and a
generated demo library (``--demo-train``, seed 1, 60 tracks; made with ``dj_pipeline.demo``). The L2
weight is chosen by 5-fold cross-validation inside that training data (pick rate: the share of
tracks whose best-scored candidate is right), and with ``--select`` also the model's ``auto``
range, the candidate ratios and the number of tempo classes (:data:`SELECT_RANGES`, ...). Reported: the held-out
fold 0 of the real set (87 files), another generated library (``--demo-eval``, seed 0, 30 tracks),
the generated tracks of the analysis tests (``synth_ok``) and Acc1 per ``bpm_range`` setting, each
side by side with the hand-made rule, and the reverse fold (the same choices fitted on the held-out
half, scored on the tune half) as a second, cross-validated look. ``--write-model`` stores the weights, the data they were
fitted on and these figures in ``dj_pipeline/config/tempo_octave.yaml``. Onset envelopes are cached
in ``--cache`` as by ``bench/tempo_octave_tune.py``. Writes ``bench/results/tempo_octave_train.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from realset import add_realset_argument, realset_dir  # noqa: E402
from tempo_octave_tune import RANGES, accuracy, demo_items, items_of, search_spectra, synth_ok  # noqa: E402

from dj_pipeline.analysis import load_analysis_config  # noqa: E402
from dj_pipeline.analysis.tempo import bpm_range_for, choose_octave, octave_folded, rule_range, tempo_evidence  # noqa: E402
from dj_pipeline.analysis.tempo_octave import (  # noqa: E402
    FEATURE_NAMES, MODEL_FILE, OctaveModel, candidate_features, candidate_logits, candidate_tempi, fit_octave_model, model_to_dict,
)  # fmt: skip

L2_GRID = (0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)
SELECT_RANGES = ((70.0, 180.0), (60.0, 200.0), (50.0, 240.0))
SELECT_RATIOS = ((1.0,), (1.0, 1.5, 2.0 / 3.0))


def track_candidates(it: dict, cfg, shape: OctaveModel) -> tuple[np.ndarray, np.ndarray] | None:
    """(candidate features, correct mask) of one item in the ``auto`` range; ``None`` without usable onsets."""
    t = cfg.tempo
    usable = [s for s in it["wins"] if np.count_nonzero(s.onset > cfg.onsets.min_flux_db) >= t.min_onset_frames]
    if not usable:
        return None
    ev = tempo_evidence(usable, t, it["density"])
    salience = np.maximum(ev.comb, 0.0) * ev.spec
    if salience.max() <= 0:
        return None
    rng = bpm_range_for(None, t)
    rule = choose_octave(ev.grid, ev.comb, ev.spec, it["density"], t, rule_range(rng, t))
    cands = candidate_tempi(ev, octave_folded(ev.grid, salience, t.grid_per_octave), t.min_bpm, rng, rule, shape)
    x = np.stack([candidate_features(c, ev, rng, rule) for c in cands])
    return x, np.array([abs(c / it["truth"] - 1.0) <= 0.04 for c in cands])


def pick_rate(model: OctaveModel, rows: list) -> float:
    """Share of tracks whose highest-logit candidate is correct (no candidate or no track row: a miss)."""
    return float(np.mean([bool(r is not None and r[1][int(np.argmax(candidate_logits(r[0], model)))]) for r in rows]))


def choose_l2(rows: list, ratios: tuple[float, ...], n_classes: int, folds: int = 5) -> tuple[float, dict]:
    """The L2 weight with the best cross-validated pick rate inside the training rows."""
    idx = np.arange(len(rows)) % folds
    scores = {}
    for l2 in L2_GRID:
        hits = []
        for k in range(folds):
            fit = [r for r, i in zip(rows, idx) if i != k and r is not None]
            model = fit_octave_model(fit, l2, ratios, n_classes)
            hits.append(pick_rate(model, [r for r, i in zip(rows, idx) if i == k]))
        scores[l2] = float(np.mean(hits))
    return max(scores, key=lambda l2: (scores[l2], l2)), scores


def summary(items: list[dict], cfg, model) -> dict:
    acc = accuracy(items, cfg, model=model)
    return {"tune": acc["tune"], "holdout": acc["holdout"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_realset_argument(ap)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tempo_octave_cache"))
    ap.add_argument("--demo-train", type=Path, default=Path("/tmp/to13/demo_s1"))
    ap.add_argument("--demo-eval", type=Path, default=Path("/tmp/to13/demo_s0"))
    ap.add_argument("--write-model", action="store_true")
    ap.add_argument("--auto-range", type=float, nargs=2, default=(60.0, 200.0), metavar=("LO", "HI"), help="the learned model's auto range")
    ap.add_argument("--ratios", default="1,1.5,0.6667", help="candidate ratios to each tempo class")
    ap.add_argument("--classes", type=int, default=1, help="tempo classes (folded salience peaks) per track")
    ap.add_argument("--note", default="", help="--write-model: a line on how the model is used (e.g. why it is off)")
    ap.add_argument("--select", action="store_true", help="choose range, ratios and classes by CV on the training data")
    args = ap.parse_args()
    root = realset_dir(args.realset)
    if root is None:
        sys.exit("real dev set not found: extract it first")
    for lib, seed, n in ((args.demo_train, 1, 60), (args.demo_eval, 0, 30)):
        if not (lib / "truth.csv").exists():
            from dj_pipeline.demo import generate_library

            generate_library(lib, n_tracks=n, n_samples=0, seed=seed)
    base = load_analysis_config()
    off = replace(base, tempo=replace(base.tempo, octave_model="off"))
    real = items_of(root, off, args.cache)
    demo_train = demo_items(args.demo_train, off, args.cache, holdout=False)
    demo_eval = demo_items(args.demo_eval, off, args.cache, holdout=True)
    train = [it for it in real if not it["holdout"]] + demo_train
    grid = [(tuple(args.auto_range), tuple(float(r) for r in args.ratios.split(",")), args.classes)]
    if args.select:
        grid = [(rng, ratios, n) for rng in SELECT_RANGES for ratios in SELECT_RATIOS for n in (1, 2, 3)]
    fits = []
    for (lo, hi), ratios, n_classes in grid:
        cfg = replace(base, tempo=replace(base.tempo, octave_model="learned", octave_model_min_bpm=lo, octave_model_max_bpm=hi))
        shape = OctaveModel(FEATURE_NAMES, np.zeros(1), np.ones(1), np.zeros(1), ratios, n_classes)
        rows = [track_candidates(it, cfg, shape) for it in train]
        l2, cv = choose_l2(rows, ratios, n_classes)
        fits.append({"auto_range": [lo, hi], "ratios": list(ratios), "classes": n_classes, "l2": l2, "cv_pick_rate": cv[l2], "cfg": cfg, "rows": rows})
        print(f"  auto {lo:g}-{hi:g} ratios {ratios} classes {n_classes}: CV pick rate {cv[l2]:.3f} (L2 {l2})", flush=True)
    best = max(fits, key=lambda f: f["cv_pick_rate"])  # first of equals: the grid runs from the simplest
    cfg, rows, l2 = best["cfg"], best["rows"], best["l2"]
    (lo, hi), ratios, n_classes = best["auto_range"], tuple(best["ratios"]), best["classes"]
    model = fit_octave_model([r for r in rows if r is not None], l2, ratios, n_classes)
    print(f"training: {len(train)} tracks ({sum(not it['holdout'] for it in real)} real tune-half, {len(demo_train)} generated); "
          f"reachable (a correct candidate) {np.mean([r is not None and r[1].any() for r in rows]):.3f}; chosen: auto {lo:g}-{hi:g}, "
          f"ratios {ratios}, classes {n_classes}, L2 {l2}")  # fmt: skip
    for name, w in zip(FEATURE_NAMES, model.coef):
        print(f"  {name:18s} {w:+.3f}")
    selection = [{k: v for k, v in f.items() if k not in ("cfg", "rows")} for f in fits]
    spectra = search_spectra(cfg)
    report: dict = {"training": {"real_tune_half": sum(not it["holdout"] for it in real), "generated": str(args.demo_train),
                                 "generated_tracks": len(demo_train), "auto_range": [lo, hi], "ratios": list(ratios), "classes": n_classes,
                                 "l2": l2, "selection_by_cv": selection}, "results": {}}  # fmt: skip
    print("\ntempo Acc1/Acc2: real tune half (trained on) | real held-out fold 0 | generated eval library; synth_ok")
    for label, m, c in (("rule", None, off), ("learned", model, cfg)):
        res = {**summary(real, c, m), "generated_eval": accuracy(demo_eval, c, model=m)["holdout"],
               "synth_ok": synth_ok(c, spectra, m), "ranges_holdout": {}}  # fmt: skip
        for rng in RANGES[1:]:
            res["ranges_holdout"][rng] = accuracy(real, replace(c, tempo=replace(c.tempo, bpm_range=rng)), model=m)["holdout"]
        report["results"][label] = res
        print(f"  {label:8s} " + " | ".join(f"{res[p]['acc1']:.3f}/{res[p]['acc2']:.3f}" for p in ("tune", "holdout", "generated_eval"))
              + f"; synth_ok {res['synth_ok']}; held-out Acc1 per range " + ", ".join(f"{k} {v['acc1']:.3f}" for k, v in res["ranges_holdout"].items()))  # fmt: skip
    # the other way round, same choices: fitted on the held-out half + the generated tracks, scored on the tune half
    shape = OctaveModel(FEATURE_NAMES, np.zeros(1), np.ones(1), np.zeros(1), ratios, n_classes)
    rows_rev = [track_candidates(it, cfg, shape) for it in [it for it in real if it["holdout"]] + demo_train]
    l2_rev, _ = choose_l2(rows_rev, ratios, n_classes)
    reverse = fit_octave_model([r for r in rows_rev if r is not None], l2_rev, ratios, n_classes)
    rev = {"learned": accuracy(real, cfg, model=reverse)["tune"], "rule": report["results"]["rule"]["tune"], "l2": l2_rev}
    report["reverse_fold_tune_half"] = rev
    print(f"  reverse fold (fitted on the held-out half, scored on the tune half): learned {rev['learned']['acc1']:.3f}/{rev['learned']['acc2']:.3f}, "
          f"rule {rev['rule']['acc1']:.3f}/{rev['rule']['acc2']:.3f}")  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tempo_octave_train.json").write_text(json.dumps(report, indent=1))
    if args.write_model:
        doc = {"trained": str(date.today()), "by": "bench/tempo_octave_train.py", "note": args.note, "training": report["training"],
               "figures": report["results"],
               "reverse_fold_tune_half": rev, "model": model_to_dict(model)}  # fmt: skip
        MODEL_FILE.write_text("# The learned tempo octave choice (analysis/tempo_octave.py); written by bench/tempo_octave_train.py.\n"
                              + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=140))  # fmt: skip
        print(f"wrote {MODEL_FILE}")


if __name__ == "__main__":
    main()
