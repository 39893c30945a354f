"""Tempo Acc1/Acc2 per DJ-range setting on the real dev set, and the octave-evidence search.

    python bench/tempo_octave_tune.py --realset /work/realset [--cache /tmp/tempo_octave_cache] [--search]

The windows' onset envelopes of every real file are computed once (exactly as the pipeline reads
them: window sampler -> windows at the analysis rate -> the short-window onset envelope) and kept in
``--cache`` (numbers only, scratch). Then ``estimate_tempo`` runs per setting:

* per range: ``bpm_range`` auto (the default), 70-140, 78-155, 88-175, 98-195, and auto with the
  GTZAN genre given as the genre tag (``genre_ranges``);
* ``--ternary``: the ratios behind the ternary check (``tempo.ternary_*``) with the check off: the
  ACF comb and onset spectrum near 2/3 of the pick over those near the pick, for the items read at
  3/2 of their label and the largest of the others, per half (the thresholds were chosen on ``tune``);
* ``--search``: the octave evidence weights (ACF comb, onset spectrum, prior centre, onset density)
  on the ``tune`` half of ``bench/realset.py``'s holdout split, keeping only settings under which
  the generated tracks of ``test_analysis_features`` keep their tempo; reported on the ``holdout`` half.
Writes ``bench/results/tempo_octave_tune.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from realset import add_realset_argument, holdout_split, load_truth, realset_dir  # noqa: E402

from dj_pipeline.analysis import load_analysis_config  # noqa: E402
from dj_pipeline.analysis.core import prepare_segment  # noqa: E402
from dj_pipeline.analysis.frontend import compute_spectra  # noqa: E402
from dj_pipeline.analysis.metrics import tempo_accuracy1, tempo_accuracy2  # noqa: E402
from dj_pipeline.analysis.spectral import onset_density, onset_times  # noqa: E402
from dj_pipeline.analysis.tempo import bpm_range_for, estimate_tempo, tempo_evidence, ternary_ratios  # noqa: E402
from dj_pipeline.catalog.hashing import content_id  # noqa: E402
from dj_pipeline.windows import read_windows, select_windows  # noqa: E402

RANGES = ("auto", "70-140", "78-155", "88-175", "98-195")
SYNTH = [(124, 9, "minor", "four_on_floor"), (128, 7, "major", "four_on_floor"), (174, 2, "minor", "two_step"),
         (140, 5, "minor", "half_time"), (90, 0, "major", "boom_bap")]  # fmt: skip


def window_onsets(path: str, cfg, cache: Path) -> list[SimpleNamespace]:
    """The onset envelopes (full band, body, low band) and HPSS power of each sampled track window (cached)."""
    f = cache / (Path(path).parent.name + "__" + Path(path).name + ".npz")
    if not f.exists():
        windows = [w for w in select_windows(path, track_id=content_id(path)) if w.name in cfg.track_windows]
        out = {}
        for name, y in read_windows(path, windows, cfg.sr).items():
            x = prepare_segment(y, cfg.sr, name, cfg, [])
            if x is not None:
                s = compute_spectra(x, cfg.sr, cfg)
                out[name] = np.stack([s.onset, s.onset_body, s.onset_low])
                out[name + "__hp"] = np.array([s.harmonic.sum(), s.percussive.sum()])
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(f, **out)
    z = np.load(f)
    return [SimpleNamespace(onset=z[k][0], onset_body=z[k][1], onset_low=z[k][2], fps=cfg.frames_per_s,
                            harmonic=z[k + "__hp"][:1], percussive=z[k + "__hp"][1:]) for k in z.files if k in cfg.track_windows]  # fmt: skip


def make_item(file: str, path: str, truth: float, holdout: bool, genre: str | None, source: str, cfg, cache: Path) -> dict:
    wins = window_onsets(path, cfg, cache)
    n_on = sum(onset_times(w.onset, w.fps, cfg.onsets).size for w in wins)
    seconds = sum(w.onset.size / w.fps for w in wins)
    return {"file": file, "truth": truth, "holdout": holdout, "wins": wins, "density": n_on / max(seconds, 1e-9), "genre": genre, "source": source}


def items_of(root: Path, cfg, cache: Path) -> list[dict]:
    truth = load_truth(root)
    truth["holdout"] = holdout_split(truth["file"])
    return [make_item(r.file, r.path, float(r.bpm), bool(r.holdout), r.genre if isinstance(r.genre, str) else None, "real", cfg, cache)
            for r in truth.itertuples()]  # fmt: skip


def demo_items(library: Path, cfg, cache: Path, holdout: bool) -> list[dict]:
    """Generated tracks (``dj_pipeline.demo``) with their known tempo; ``holdout`` marks the evaluation library."""
    truth = pd.read_csv(library / "truth.csv")
    return [make_item(r.path, str(library / r.path), float(r.bpm), holdout, r.genre, "demo", cfg, cache) for r in truth.itertuples()]


def accuracy(items: list[dict], cfg, genre_tags: bool = False, model=None) -> dict:
    """Acc1/Acc2 on all items, the tune half and the holdout half (``model``: a learned octave choice)."""
    rows = []
    for it in items:
        rng = bpm_range_for(it["genre"] if genre_tags else None, cfg.tempo)
        bpm = estimate_tempo(it["wins"], cfg.tempo, it["density"], cfg.onsets.min_flux_db, rng, model).bpm
        rows.append((it["holdout"], tempo_accuracy1(bpm, it["truth"]), tempo_accuracy2(bpm, it["truth"])))
    df = pd.DataFrame(rows, columns=["holdout", "acc1", "acc2"])
    part = lambda d: {"n": len(d), "acc1": float(d["acc1"].mean()), "acc2": float(d["acc2"].mean())}  # noqa: E731
    return {"all": part(df), "tune": part(df[~df["holdout"]]), "holdout": part(df[df["holdout"]])}


def synth_ok(cfg, spectra: list, model=None) -> bool:
    """Every generated track of the analysis tests keeps its tempo (within 1 %) under ``cfg`` (and ``model``)."""
    for bpm, track in spectra:
        got = estimate_tempo(track, cfg.tempo, onset_density(track, cfg.onsets), cfg.onsets.min_flux_db, None, model).bpm
        if got is None or abs(got / bpm - 1) > 0.01:
            return False
    return True


def search_spectra(cfg) -> list:
    """``(bpm, windows)`` of the generated tracks of ``test_analysis_features`` (:data:`SYNTH`)."""
    from dj_pipeline.analysis.testsignals import synth_track

    sr = cfg.sr
    spectra = []
    for bpm, root, mode, style in SYNTH:
        y = synth_track(bpm, root, mode, 60, sr, style, seed=bpm)
        spectra.append((bpm, [compute_spectra(y[10 * sr : 40 * sr], sr, cfg), compute_spectra(y[40 * sr : 55 * sr], sr, cfg)]))
    return spectra


def ternary_report(items: list[dict], cfg) -> list[dict]:
    """Per item, with the ternary check off: the pick, its ratio to the label and :func:`ternary_ratios` there."""
    tempo = replace(cfg.tempo, ternary_comb_ratio=0.0)
    rows = []
    for it in items:
        usable = [w for w in it["wins"] if np.count_nonzero(w.onset > cfg.onsets.min_flux_db) >= tempo.min_onset_frames]
        bpm = estimate_tempo(it["wins"], tempo, it["density"], cfg.onsets.min_flux_db).bpm if usable else None
        if bpm is None:
            continue
        ev = tempo_evidence(usable, tempo, it["density"], bands=False)
        comb_r, spec_r = ternary_ratios(ev.grid, ev.comb, ev.spec, bpm, tempo.ternary_search_pct)
        at_3_2 = any(abs(bpm / it["truth"] / r - 1) < 0.04 for r in (1.5, 0.75, 3.0))
        rows.append({"file": it["file"], "holdout": it["holdout"], "truth": it["truth"], "bpm": bpm, "at_3_2": at_3_2, "comb_ratio": comb_r, "spectrum_ratio": spec_r})
    df = pd.DataFrame(rows)
    for half, g in df.groupby(np.where(df["holdout"], "holdout", "tune")):
        other = g[~g["at_3_2"]]
        print(f"  {half}: {int(g['at_3_2'].sum())} read at 3/2 of the label; the others' largest comb ratio "
              f"{other['comb_ratio'].max():.2f} (spectrum ratio {other['spectrum_ratio'].max():.2f})")
        for r in g[g["at_3_2"]].itertuples():
            print(f"    {r.file:45s} label {r.truth:6.1f} pick {r.bpm:6.1f}  comb ratio {r.comb_ratio:.2f}  spectrum ratio {r.spectrum_ratio:.2f}")
    return rows


def search(items: list[dict], cfg) -> list[dict]:
    spectra = search_spectra(cfg)
    results = []
    for comb, spec, centre, dens in itertools.product([0.0, 0.5, 1.0], [0.0, 0.25, 0.5], [110.0, 125.0, 130.0], [0.25, 1.0]):
        tempo = replace(cfg.tempo, octave_comb_weight=comb, octave_spectrum_weight=spec, prior_center_bpm=centre, density_weight=dens)
        c = replace(cfg, tempo=tempo)
        acc = accuracy(items, c)
        results.append({"comb": comb, "spectrum": spec, "centre": centre, "density": dens, "synth_ok": synth_ok(c, spectra), **acc})
    results.sort(key=lambda r: (-r["synth_ok"], -r["tune"]["acc1"], -r["tune"]["acc2"]))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_realset_argument(ap)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/tempo_octave_cache"))
    ap.add_argument("--search", action="store_true")
    ap.add_argument("--ternary", action="store_true", help="the ratios the ternary check's thresholds were chosen from")
    args = ap.parse_args()
    root = realset_dir(args.realset)
    if root is None:
        sys.exit(f"real dev set not found ({args.realset or '$DJ_REALSET or /work/realset'}): extract it first")
    cfg = load_analysis_config()
    items = items_of(root, cfg, args.cache)
    report: dict = {"split": "bench/realset.py holdout_split(n_folds=2, fold=0): holdout = reported, tune = the rest", "ranges": {}}
    print(f"{len(items)} real files; tempo Acc1 / Acc2 (all | tune | holdout)")
    for rng in RANGES:
        acc = accuracy(items, replace(cfg, tempo=replace(cfg.tempo, bpm_range=rng)))
        report["ranges"][rng] = acc
        print(f"  bpm_range {rng:8s} " + " | ".join(f"{acc[p]['acc1']:.3f}/{acc[p]['acc2']:.3f}" for p in ("all", "tune", "holdout")))
    acc = accuracy(items, cfg, genre_tags=True)
    report["ranges"]["auto+genre_tags"] = acc
    print("  auto + genre tag  " + " | ".join(f"{acc[p]['acc1']:.3f}/{acc[p]['acc2']:.3f}" for p in ("all", "tune", "holdout")))
    if args.ternary:
        print("\nternary check (off): ACF comb / onset spectrum near 2/3 of the pick over near the pick")
        report["ternary"] = ternary_report(items, cfg)
    if args.search:
        results = search(items, cfg)
        report["search"] = results
        print("\noctave evidence search, best on the tune half (synth_ok = the generated tracks keep their tempo):")
        for r in results[:8]:
            print(f"  comb {r['comb']:.2f} spec {r['spectrum']:.2f} centre {r['centre']:.0f} density {r['density']:.2f} "
                  f"synth_ok {r['synth_ok']!s:5s} tune {r['tune']['acc1']:.3f}/{r['tune']['acc2']:.3f} "
                  f"holdout {r['holdout']['acc1']:.3f}/{r['holdout']['acc2']:.3f}")  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "tempo_octave_tune.json").write_text(json.dumps(report, indent=1))
    print(f"\nwrote {out / 'tempo_octave_tune.json'}")


if __name__ == "__main__":
    main()
