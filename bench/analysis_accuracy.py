"""Accuracy of the DSP analysis (tempo, key) against ground truth, side by side with plain librosa.

    python bench/analysis_accuracy.py [--library /tmp/demo240] [--tracks 240] [--seed 0]
                                      [--limit N] [--devset ../shared/devset] [--no-baseline]
                                      [--profiles krumhansl,temperley,shaath,edma,edm_blend]
                                      [--realset /work/realset --peers-out /tmp/peers_out]

* Demo library (generated once into ``--library`` when it has no truth.csv): every track is
  analysed exactly as the pipeline does (window sampler -> read windows at the analysis rate ->
  ``analyze_segments``). The plain librosa pipeline (``bench/analysis_baseline.py``: beat_track +
  chroma_cqt + Krumhansl) runs on the same sampled windows (main + tails) at 22050 Hz.
* Devset (``kind`` tempo/key/track rows of labels.csv with a bpm or key): ``analyze_file`` on each
  file; the baseline on the whole file.

* Real dev set (``--realset DIR``, the extracted ``../shared/realset``; see ``bench/realset_eval.py``):
  tempo, key, beats and downbeats per dataset and per GTZAN genre, side by side with the peers
  whose outputs are cached in ``--peers-out`` (plain ``librosa.feature.tempo`` is computed here
  into ``--peers-out`` as the tempo peer ``librosa_tempo``); the fixed hold-out split of ``bench/realset.py``
  (``holdout``: reported; ``tune``: the part tuned on) is reported separately.

Scores: MIREX tempo Accuracy1 (+-4 %) and Accuracy2 (also x2, x1/2, x3, x1/3), MIREX weighted key
score (1 same, .5 fifth, .3 relative, .2 parallel) and the exact key rate; per style, the key
score of each configured profile on the same chroma, and the worst cases. Writes
``bench/results/analysis_accuracy.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from analysis_baseline import BASELINE_SR, baseline_analysis  # noqa: E402
from realset import add_realset_argument  # noqa: E402

from dj_pipeline.analysis import analyze_file, analyze_segments, load_analysis_config  # noqa: E402
from dj_pipeline.analysis.key import estimate_key  # noqa: E402
from dj_pipeline.analysis.metrics import key_relation, key_weighted_score, tempo_accuracy1, tempo_accuracy2  # noqa: E402
from dj_pipeline.analysis.profiles import PROFILE_NAMES  # noqa: E402
from dj_pipeline.audio import load_audio  # noqa: E402
from dj_pipeline.catalog.hashing import content_id  # noqa: E402
from dj_pipeline.music.keys import parse_key  # noqa: E402
from dj_pipeline.windows import read_windows, select_windows  # noqa: E402

DEFAULT_DEVSET = ROOT.parent / "shared" / "devset"


def score_row(row: dict, prefix: str, truth_bpm: float | None, truth_key: tuple[int, str] | None) -> dict:
    """Add ``<prefix>acc1/acc2/key_score/key_exact/key_rel`` to ``row``."""
    if truth_bpm is not None:
        row[f"{prefix}acc1"] = tempo_accuracy1(row.get(f"{prefix}bpm"), truth_bpm)
        row[f"{prefix}acc2"] = tempo_accuracy2(row.get(f"{prefix}bpm"), truth_bpm)
    if truth_key is not None:
        est = (row.get(f"{prefix}key_root"), row.get(f"{prefix}key_mode"))
        row[f"{prefix}key_score"] = key_weighted_score(*est, *truth_key)
        row[f"{prefix}key_rel"] = key_relation(*est, *truth_key)
        row[f"{prefix}key_exact"] = row[f"{prefix}key_rel"] == "same"
    return row


def demo_rows(library: Path, limit: int | None, profiles: list[str], baseline: bool) -> list[dict]:
    cfg = load_analysis_config()
    truth = pd.read_csv(library / "truth.csv")
    if limit:
        truth = truth.groupby("style", group_keys=False).head(max(1, limit // truth["style"].nunique()))
    rows = []
    for i, r in enumerate(truth.itertuples(), 1):
        path = library / r.path
        windows = select_windows(path, track_id=content_id(path))
        segments = read_windows(path, windows, cfg.sr)
        t0 = time.process_time()
        f = analyze_segments(segments, cfg.sr, float(r.duration_s), cfg)
        row = {"source": "demo", "file": r.path, "style": r.style, "truth_bpm": float(r.bpm), "truth_key": r.key,
               "truth_energy": float(r.energy_level), "energy": f["energy"], "loudness_lufs": f["loudness_lufs"],
               "cpu_s": time.process_time() - t0, **{k: f[k] for k in ("bpm", "bpm_confidence", "key_root", "key_mode", "key", "key_clarity", "key_consensus")}}  # fmt: skip
        track_y = [segments[n] for n in segments if n in cfg.track_windows]
        for prof in profiles:
            k = estimate_key(track_y, cfg.sr, replace(cfg.key, profile=prof))
            row[f"p_{prof}_key_root"], row[f"p_{prof}_key_mode"] = k.root, k.mode
        if baseline:
            track_windows = [w for w in windows if w.name in cfg.track_windows]
            b_seg = read_windows(path, track_windows, BASELINE_SR)
            b = baseline_analysis(np.concatenate([b_seg[w.name] for w in track_windows]), BASELINE_SR)
            row.update({f"base_{k}": v for k, v in b.items()})
        truth_key = (int(r.key_root), str(r.key_mode))
        score_row(row, "", float(r.bpm), truth_key)
        score_row(row, "base_", float(r.bpm), truth_key) if baseline else None
        for prof in profiles:
            score_row(row, f"p_{prof}_", None, truth_key)
        rows.append(row)
        if i % 20 == 0:
            print(f"  ... {i}/{len(truth)} demo tracks", flush=True)
    return rows


def devset_rows(devset: Path, baseline: bool) -> list[dict]:
    labels = pd.read_csv(devset / "labels.csv")
    labels = labels[labels["kind"].isin(["tempo", "key", "track"]) & (labels["bpm"].notna() | labels["key"].notna())]
    rows = []
    for r in labels.itertuples():
        path = devset / r.file
        truth_bpm = float(r.bpm) if pd.notna(r.bpm) else None
        truth_key = parse_key(r.key) if pd.notna(r.key) else None
        t0 = time.process_time()
        f = analyze_file(path)
        row = {"source": "devset", "file": r.file, "style": f"devset:{r.kind}", "truth_bpm": truth_bpm, "truth_key": r.key if pd.notna(r.key) else None,
               "cpu_s": time.process_time() - t0, **{k: f[k] for k in ("bpm", "bpm_confidence", "key_root", "key_mode", "key", "key_clarity", "key_consensus")}}  # fmt: skip
        if baseline:
            y, sr = load_audio(path, sr=BASELINE_SR)
            row.update({f"base_{k}": v for k, v in baseline_analysis(y, sr).items()})
        score_row(row, "", truth_bpm, truth_key)
        score_row(row, "base_", truth_bpm, truth_key) if baseline else None
        rows.append(row)
    return rows


def summarise(df: pd.DataFrame, prefixes: dict[str, str]) -> pd.DataFrame:
    """Per style (and all) n, Acc1, Acc2, key weighted and exact rates for each prefix."""
    out = []
    for style, g in [("ALL", df), *df.groupby("style")]:
        rec = {"style": style, "n": len(g)}
        for label, p in prefixes.items():
            for m in ("acc1", "acc2", "key_score", "key_exact"):
                col = f"{p}{m}"
                if col in g and g[col].notna().any():
                    rec[f"{label} {m}"] = float(g[col].dropna().astype(float).mean())
        out.append(rec)
    return pd.DataFrame(out)


def print_report(df: pd.DataFrame, title: str, baseline: bool, profiles: list[str]) -> dict:
    prefixes = {"ours": "", **({"librosa": "base_"} if baseline else {})}
    summary = summarise(df, prefixes)
    print(f"\n=== {title}: {len(df)} files ===")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    profile_scores = {}
    if profiles and any(f"p_{p}_key_score" in df for p in profiles):
        print("\nkey profiles on the same chroma (weighted / exact):")
        for p in profiles:
            if f"p_{p}_key_score" in df:
                profile_scores[p] = {"weighted": float(df[f"p_{p}_key_score"].mean()), "exact": float(df[f"p_{p}_key_exact"].mean())}
                print(f"  {p:10s} {profile_scores[p]['weighted']:.3f} / {profile_scores[p]['exact']:.3f}")
    if "acc1" in df:
        bad = df[df["acc1"].notna() & ~df["acc1"].astype(bool)]
        print(f"\nworst tempo cases ({len(bad)} Accuracy1 misses):")
        for r in bad.assign(err=(bad["bpm"].fillna(0) / bad["truth_bpm"] - 1).abs()).sort_values("err", ascending=False).head(10).itertuples():
            print(f"  {r.style:16s} truth {r.truth_bpm:6.1f}  est {r.bpm if r.bpm is not None else float('nan'):7.2f}  conf {r.bpm_confidence:.2f}  {r.file}")
    if "key_rel" in df:
        bad = df[df["key_rel"].notna() & (df["key_rel"] != "same")]
        print(f"\nkey misses ({len(bad)}): " + ", ".join(f"{k}={v}" for k, v in bad["key_rel"].value_counts().items()))
        for r in bad.sort_values("key_clarity", ascending=False, na_position="last").head(10).itertuples():
            print(f"  {r.style:16s} truth {r.truth_key:9s} est {str(r.key):9s} ({r.key_rel}, clarity {r.key_clarity})  {r.file}")
    return {"summary": summary.to_dict(orient="records"), "profiles": profile_scores}


def librosa_tempo_table(root: Path, peers_out: Path) -> Path:
    """``peers_out/librosa_tempo.csv`` (``file, bpm``): ``librosa.feature.tempo`` on each whole real file.

    The plain librosa tempo (onset-strength autocorrelation, log-normal prior at 120 BPM; what
    ``../shared/peers/run_librosa.py`` runs) needs no peer environment: librosa is a dependency of the
    main one. Computed once (kept when the file exists), then read like any peer's CSV (system
    ``librosa_tempo``).
    """
    import librosa

    from realset import load_truth

    out = Path(peers_out) / "librosa_tempo.csv"
    if out.exists():
        return out
    rows = []
    for i, r in enumerate(load_truth(root).itertuples(), 1):
        y, sr = load_audio(r.path, sr=BASELINE_SR)
        onset = librosa.onset.onset_strength(y=y, sr=sr)
        rows.append({"file": r.path, "bpm": float(np.atleast_1d(librosa.feature.tempo(onset_envelope=onset, sr=sr))[0])})
        if i % 40 == 0:
            print(f"  ... librosa tempo {i} files", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)
    return out


def run_realset(args: argparse.Namespace) -> None:
    """``--realset``: dj_pipeline and the cached peers on the real dev set (see ``bench/realset_eval.py``)."""
    from realset import realset_dir
    from realset_eval import print_realset, realset_frame, rows_for_json

    root = realset_dir(args.realset)
    if root is None:
        sys.exit(f"real dev set not found at {args.realset} (no truth.csv): extract it with ../shared/realset/extract.py")
    if not args.no_librosa_tempo:
        librosa_tempo_table(root, args.peers_out)
    df, systems = realset_frame(root, args.peers_out, args.genre_tags, args.real_limit, args.ours_cache, args.peer_report)
    report = {"realset": str(root), "genre_tags": args.genre_tags, "split": "bench/realset.py holdout_split(n_folds=2, fold=0)",
              **print_realset(df, systems), "rows": rows_for_json(df)}  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "analysis_accuracy_realset" + ("_genre_tags" if args.genre_tags else "") + ".json"
    (out / name).write_text(json.dumps(report, indent=1, default=str))
    print(f"\nwrote {out / name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", type=Path, default=Path("/tmp/demo240"))
    ap.add_argument("--tracks", type=int, default=240, help="tracks to generate when --library has no truth.csv")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None, help="analyse about this many demo tracks (spread over styles)")
    ap.add_argument("--devset", type=Path, default=DEFAULT_DEVSET)
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--profiles", default=",".join(PROFILE_NAMES))
    add_realset_argument(ap)
    ap.add_argument("--peers-out", type=Path, default=Path("/tmp/peers_out"), help="cached peer CSVs (see bench/realset_scores.py)")
    ap.add_argument("--genre-tags", action="store_true", help="real set: pass the GTZAN genre to the analysis as a genre tag")
    ap.add_argument("--real-limit", type=int, default=None, help="real set: about this many files (spread over genres)")
    ap.add_argument("--no-librosa-tempo", action="store_true", help="real set: skip librosa.feature.tempo as a tempo peer")
    ap.add_argument("--peer-report", type=Path, default=None, help="real set: reuse the peers' scored rows of an earlier report on the same files")
    ap.add_argument("--ours-cache", type=Path, default=None, help="real set: scratch folder for dj_pipeline's per-file rows (resumable)")
    args = ap.parse_args()
    if args.realset is not None:
        run_realset(args)
        return
    profiles = [p for p in args.profiles.split(",") if p]
    baseline = not args.no_baseline
    report: dict = {"config_profile": load_analysis_config().key.profile}
    if not args.no_demo:
        if not (args.library / "truth.csv").exists():
            from dj_pipeline.demo import generate_library

            print(f"generating {args.tracks} demo tracks into {args.library} ...", flush=True)
            generate_library(args.library, n_tracks=args.tracks, n_samples=0, seed=args.seed)
        demo = pd.DataFrame(demo_rows(args.library, args.limit, profiles, baseline))
        report["demo"] = print_report(demo, f"demo library {args.library}", baseline, profiles)
        rho = float(demo[["energy", "truth_energy"]].corr(method="spearman").iloc[0, 1])
        print(f"\nenergy vs the generator's energy level: Spearman rho = {rho:.3f}")
        clear = demo[demo["key_clarity"].fillna(0) >= 0.5]
        print(f"key_clarity >= 0.5 on {len(clear)}/{len(demo)} tracks; their exact key rate {clear['key_exact'].mean():.3f}")
        report["demo"]["energy_spearman"] = rho
        report["demo_rows"] = demo.to_dict(orient="records")
    if args.devset.is_dir():
        dev = pd.DataFrame(devset_rows(args.devset, baseline))
        report["devset"] = print_report(dev, f"devset {args.devset}", baseline, [])
        report["devset_rows"] = dev.to_dict(orient="records")
    else:
        print(f"devset not found at {args.devset}: skipped")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "analysis_accuracy.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"\nwrote {out / 'analysis_accuracy.json'}")


if __name__ == "__main__":
    main()
