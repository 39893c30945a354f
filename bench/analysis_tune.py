"""Parameter sweep for the key and tempo estimators, on a tuning library kept apart from the test one.

    python bench/analysis_tune.py [--library /tmp/demo_tune48] [--tracks 48] [--seed 1]

Tuning happens on a demo library generated with a different seed (``--seed 1``) from the one the
accuracy benchmark reports on (``bench/analysis_accuracy.py``, seed 0), so the reported figures are
not fitted to the tracks they are measured on. Each track's windows are read once; every
candidate setting re-runs only the estimator. Prints the MIREX key score / exact rate per key
setting and Accuracy1 per tempo setting.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dj_pipeline.analysis import load_analysis_config  # noqa: E402
from dj_pipeline.analysis.frontend import compute_spectra  # noqa: E402
from dj_pipeline.analysis.key import estimate_key  # noqa: E402
from dj_pipeline.analysis.metrics import key_weighted_score, tempo_accuracy1  # noqa: E402
from dj_pipeline.analysis.profiles import PROFILE_NAMES  # noqa: E402
from dj_pipeline.analysis.spectral import onset_density  # noqa: E402
from dj_pipeline.analysis.tempo import estimate_tempo  # noqa: E402
from dj_pipeline.catalog.hashing import content_id  # noqa: E402
from dj_pipeline.windows import read_windows, select_windows  # noqa: E402

KEY_GRID = {
    "profile": ["krumhansl", "edma", "edm_blend"],
    "fmax_hz": [1760.0, 3520.0],
    "salient_only": [True],
    "vote_weight": [0.5],
    "overtone_weight": [1.0, 0.5, 0.25],
}
TEMPO_GRID = {"prior_center_bpm": [115.0, 125.0], "density_per_beat": [1.75, 2.0, 2.5], "density_sigma_octaves": [0.4, 0.6]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--library", type=Path, default=Path("/tmp/demo_tune48"))
    ap.add_argument("--tracks", type=int, default=48)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not (args.library / "truth.csv").exists():
        from dj_pipeline.demo import generate_library

        generate_library(args.library, n_tracks=args.tracks, n_samples=0, seed=args.seed)
    cfg = load_analysis_config()
    truth = pd.read_csv(args.library / "truth.csv")
    cache = []
    for r in truth.itertuples():
        path = args.library / r.path
        segs = read_windows(path, select_windows(path, track_id=content_id(path)), cfg.sr)
        ys = [segs[n] for n in segs if n in cfg.track_windows]
        spectra = [compute_spectra(y, cfg.sr, cfg) for y in ys]
        cache.append((r, ys, spectra, onset_density(spectra, cfg.onsets)))
    print(f"{len(cache)} tuning tracks from {args.library}\n\nkey settings (weighted / exact):")
    results = []
    for values in itertools.product(*KEY_GRID.values()):
        kc = replace(cfg.key, **dict(zip(KEY_GRID, values)))
        scores = [key_weighted_score(k.root, k.mode, int(r.key_root), r.key_mode) for r, ys, _, _ in cache for k in [estimate_key(ys, cfg.sr, kc)]]
        results.append((sum(scores) / len(scores), sum(s == 1.0 for s in scores) / len(scores), dict(zip(KEY_GRID, values))))
    for w, e, setting in sorted(results, key=lambda x: -x[0])[:15]:
        print(f"  {w:.3f} / {e:.3f}  {setting}")
    print("\ntempo settings (Accuracy1):")
    t_results = []
    for values in itertools.product(*TEMPO_GRID.values()):
        tc = replace(cfg.tempo, **dict(zip(TEMPO_GRID, values)))
        acc = [tempo_accuracy1(estimate_tempo(sp, tc, rate, cfg.onsets.min_flux_db).bpm, float(r.bpm)) for r, _, sp, rate in cache]
        t_results.append((sum(acc) / len(acc), dict(zip(TEMPO_GRID, values))))
    for a, setting in sorted(t_results, key=lambda x: -x[0])[:10]:
        print(f"  {a:.3f}  {setting}")


if __name__ == "__main__":
    main()
