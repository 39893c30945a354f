"""Issue 16 item 4: do mix-point windows and the mix_length term help the recommender? Side by side.

Ingests one generated demo library twice (dsp backend): fixed intro/outro windows
(``windows.yaml mix_point_windows: false``) and windows at the mix_in/mix_out cues (the same
setting forced on in this process), then runs ``bench/recommend_quality.py`` on each data dir with
``recommend.yaml weights.mix_length`` at 0 and at the ``--mix-length`` values, judged by the
library's truth. Prints one table row per setting and writes ``bench/results/structure_reco.json``.

    python bench/structure_reco.py --tracks 40 --seed 5 [--mix-length 0.5,2]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
METRICS = ("bpm", "key", "both", "style", "energy_truth")


def ingest(lib: Path, data: Path, mix_windows: bool) -> float:
    """Ingest ``lib`` into ``data`` with ``mix_point_windows`` as given; wall seconds (0 when already there)."""
    if (data / "dj.duckdb").exists():
        return 0.0
    import dj_pipeline.windows.mix as mix
    from dj_pipeline.config.windows import load_windows_config
    from dj_pipeline.pipeline import run_ingest

    cfg = dataclasses.replace(load_windows_config(), mix_point_windows=mix_windows)
    mix.load_windows_config = lambda *a, **k: cfg  # the embeddings asset reads it through windows.mix
    t0 = time.perf_counter()
    run_ingest(lib / "tracks", data, embedding_backend="dsp", show_progress=False)
    return time.perf_counter() - t0


def quality(lib: Path, data: Path, mix_length: float, out: Path) -> dict:
    """``recommend_quality.py`` on ``data`` with ``weights.mix_length`` overridden; its JSON summary."""
    ov = out.with_suffix(".overrides.json")
    ov.write_text(json.dumps({"weights": {"mix_length": mix_length}}), encoding="utf-8")
    cmd = [sys.executable, str(HERE / "recommend_quality.py"), "--data", str(data), "--lib", str(lib), "--json", str(out), "--overrides", str(ov)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--root", default="/tmp/structure_reco")
    ap.add_argument("--mix-length", default="0.5,2")
    args = ap.parse_args()
    root = Path(args.root)
    lib = root / "lib"
    if not (lib / "truth.csv").exists():
        from dj_pipeline.demo import generate_library

        generate_library(lib, n_tracks=args.tracks, n_samples=0, seed=args.seed, workers=0)
    res: dict = {"tracks": args.tracks, "seed": args.seed, "ingest_s": {}, "runs": []}
    for mode in ("fixed", "mix_points"):
        res["ingest_s"][mode] = round(ingest(lib, root / f"data_{mode}", mode == "mix_points"), 1)
    for mode in ("fixed", "mix_points"):
        for w in [0.0, *(float(x) for x in args.mix_length.split(","))]:
            q = quality(lib, root / f"data_{mode}", w, root / f"q_{mode}_{w}.json")
            res["runs"].append({"windows": mode, "mix_length": w, "summary": q["summary"], "targets": q.get("targets")})
            print(mode, w, json.dumps(q["summary"], default=float)[:1500], flush=True)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "structure_reco.json").write_text(json.dumps(res, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
