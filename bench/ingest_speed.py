"""Ingest speed: new tracks into a library, the first ``dj demo``, a no-op ingest on 50,000 files.

    python bench/ingest_speed.py [--scratch /tmp/ingest_speed] [--base 40] [--new 10] [--duration-scale 1.8]
                                 [--noop-files 50000] [--demo] [--profile] [--reuse-base] [--compare TREE]

Three figures (issue 15, "Ingest speed"), each with wall and CPU seconds and the machine's load:

* ``new_into_library``: a generated library of ``--base`` tracks is ingested, then ``--new`` tracks
  are added and ingested again (DSP embedder). Reported: the incremental ingest end to end, its
  runs (scan, batch analysis, library refresh) from the Dagster instance, each batch asset's own
  seconds, the per-track cost, and the projection to 100 new tracks into 1,000 (per-track cost x 100
  / the stage's parallelism is already in the measured seconds, plus the measured fixed costs; the
  library refresh measured at ``--base`` tracks, so the projection says so). ``--duration-scale``
  1.8 makes the demo's ~3-minute tracks the typical 4-7 minutes. Pass ``--base 1000 --new 100`` on
  a quiet machine for the figure itself (``--base-duration-scale 0.3`` makes the base library of short
  tracks, quick to build: the library refresh depends on the number of tracks, not their length).
  Each run keeps a snapshot of the ingested base library; ``--reuse-base`` starts from it instead of
  ingesting the base again (the base's rows then come from the code of the run that made it).
  ``--compare TREE`` then runs the same incremental ingest from the same snapshot with the code of
  another checkout (``git worktree add /tmp/old <commit>``) and reports the ratio: the machine's
  speed drifts by 10-20 % over a day, so a change is judged side by side.
* ``noop_files``: ``--noop-files`` tiny WAV files; a first scan builds the catalog, the batch
  outputs are written as small stand-ins (no audio work: this figure is about the bookkeeping), the
  state says "refreshed", then a real ``dj ingest`` runs end to end in a fresh process, twice.
* ``first_demo`` (``--demo``): ``python -m dj_pipeline demo`` in a fresh data directory.

``--profile`` writes a cProfile of the no-op ingest (top 25 by cumulative time) next to the JSON.
Writes ``bench/results/ingest_speed.json``. Figures taken on a loaded machine are ratios at best:
the load average is recorded beside each.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "ingest_speed.json"
TARGETS = {"new_100_into_1000_s": 120.0, "first_demo_s": 90.0, "noop_50k_s": 10.0}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def run_dj(args: list[str], env: dict[str, str] | None = None, root: Path = ROOT) -> dict:
    """``python -m dj_pipeline ARGS`` (the code of the checkout at ``root``) in a fresh process: wall,
    CPU (user+sys of the children), output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "dj_pipeline", *args], capture_output=True, text=True, cwd=root,
                          env={**os.environ, "PYTHONPATH": str(root), **(env or {})})  # fmt: skip
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"dj {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load": load(), "stdout": proc.stdout.strip().splitlines()[-3:]}


def ingest_args(library: Path, data: Path) -> list[str]:
    """The ``dj`` arguments of every ingest timed here: DSP embedder, no progress output."""
    return ["ingest", "--library", str(library), "--data", str(data), "--backend", "dsp", "--quiet"]


def ingest(library: Path, data: Path, root: Path = ROOT) -> dict:
    """``dj ingest`` of ``library`` into ``data`` with the code of the checkout at ``root``."""
    return run_dj(ingest_args(library, data), root=root)


def base_snapshot(scratch: Path, base: int, scale: float) -> Path:
    """Where a run keeps the ingested base library (``--reuse-base`` starts from it)."""
    return scratch / f"data_base_{base}_{scale}"


def dagster_runs(data: Path, since: float) -> list[dict]:
    """The runs of an ingest (job name, wall seconds) and each batch asset's own seconds."""
    os.environ["DAGSTER_HOME"] = str(data / "dagster_home")
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    out = []
    for run in reversed(instance.get_runs()):
        stats = instance.get_run_stats(run.run_id)
        if stats.start_time and stats.start_time >= since and stats.end_time:
            out.append({"job": run.job_name, "seconds": round(stats.end_time - stats.start_time, 2)})
    return out


def batch_asset_seconds(data: Path, since: float) -> dict[str, float]:
    """Sum of the ``seconds`` metadata of each batch asset materialized since ``since``."""
    from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

    instance = DagsterInstance.get()
    totals: dict[str, float] = {}
    for key in instance.get_asset_keys():
        records = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, after_timestamp=since), limit=100).records
        for r in records:
            seconds = r.asset_materialization.metadata.get("seconds") if r.asset_materialization else None
            if seconds is not None:
                totals[key.to_user_string()] = round(totals.get(key.to_user_string(), 0.0) + float(seconds.value), 2)
    return totals


def generated_files(scratch: Path, n: int, duration_scale: float, seed: int) -> list[Path]:
    """``n`` generated tracks (WAV, FLAC and MP3) at ``duration_scale``, made once per scratch folder."""
    from dj_pipeline.audio import AUDIO_EXTENSIONS
    from dj_pipeline.demo import generate_library

    lib = scratch / (f"lib_{n}_{duration_scale}" + ("" if seed == 11 else f"_s{seed}"))
    if not (lib / "truth.csv").exists():
        generate_library(lib, n_tracks=n, n_samples=4, seed=seed, duration_scale=duration_scale, workers=0)
    return sorted(p for p in (lib / "tracks").rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS)


def new_into_library(
    scratch: Path, base: int, new: int, duration_scale: float, base_duration_scale: float | None, reuse_base: bool = False
) -> dict:
    if base_duration_scale is None or base_duration_scale == duration_scale:
        files = generated_files(scratch, base + new, duration_scale, seed=11)
    else:  # a short-track base: the library-wide steps scale with the track count, not its length
        files = generated_files(scratch, base, base_duration_scale, seed=12) + generated_files(scratch, new, duration_scale, seed=11)
    lib = scratch / "library"
    data = scratch / "data_new"
    snapshot = base_snapshot(scratch, base, base_duration_scale or duration_scale)
    shutil.rmtree(lib, ignore_errors=True)
    shutil.rmtree(data, ignore_errors=True)
    (lib / "later").mkdir(parents=True)
    for f in files[:base]:
        os.link(f, lib / f.name)  # same inodes each run: the snapshot's catalog still matches
    if reuse_base and snapshot.is_dir():  # the base library as an earlier run ingested it (its code may be older)
        shutil.copytree(snapshot, data)
        first = {"reused": str(snapshot)}
    else:
        first = ingest(lib, data)
        shutil.rmtree(snapshot, ignore_errors=True)
        shutil.copytree(data, snapshot)
    for f in files[base : base + new]:
        os.link(f, lib / "later" / f.name)
    since = time.time()
    second = ingest(lib, data)
    runs = dagster_runs(data, since)
    assets = batch_asset_seconds(data, since)
    noop = ingest(lib, data)
    import soundfile as sf

    audio_s = sum(sf.info(str(f)).duration for f in files[base : base + new])
    batch_s = sum(r["seconds"] for r in runs if r["job"] == "batch_analysis")
    refresh_s = sum(r["seconds"] for r in runs if r["job"] == "library_refresh")
    fixed_s = second["wall_s"] - batch_s - refresh_s
    per_track_s = batch_s / max(1, new)
    return {
        "base_tracks": base, "base_duration_scale": base_duration_scale or duration_scale, "new_tracks": new,
        "new_audio_min": round(audio_s / 60, 1),
        "first_ingest": first, "incremental_ingest": second, "noop_ingest": noop,
        "runs": runs, "batch_asset_seconds": assets,
        "per_new_track_s": round(per_track_s, 2), "fixed_s": round(fixed_s, 2), "library_refresh_s": round(refresh_s, 2),
        "x_real_time": round(audio_s / second["wall_s"], 2),
        "projection_100_into_1000_s": round(100 * per_track_s + fixed_s + refresh_s, 1),
        "projection_note": f"library refresh measured at {base + new} tracks, not 1,100",
    }  # fmt: skip


def compare_with(scratch: Path, tree: Path, base: int, duration_scale: float, base_duration_scale: float | None, ours: dict) -> dict:
    """The incremental ingest of :func:`new_into_library` again, right after it, from the same base
    snapshot with the code of the checkout at ``tree`` (an older commit, say): the machine's speed
    drifts by 10-20 % over a day, so a change is judged by this ratio, not by absolute seconds.
    Run ``tree`` once before (its numba kernels are compiled on its first run)."""
    data = scratch / "data_new"
    shutil.rmtree(data, ignore_errors=True)
    shutil.copytree(base_snapshot(scratch, base, base_duration_scale or duration_scale), data)
    since = time.time()
    theirs = ingest(scratch / "library", data, root=tree)
    commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {
        "tree": str(tree), "commit": commit, "incremental_ingest": theirs, "runs": dagster_runs(data, since),
        "batch_asset_seconds": batch_asset_seconds(data, since),
        "wall_ratio_ours_to_theirs": round(ours["wall_s"] / theirs["wall_s"], 3),
        "cpu_ratio_ours_to_theirs": round(ours["cpu_s"] / theirs["cpu_s"], 3),
    }  # fmt: skip


TINY_RATE_HZ = 1000
TINY_SECONDS = 6  # just over ingest.yaml's min_duration_s, so the scan admits them: ~6 KB a file


def write_tiny_wavs(root: Path, n: int) -> None:
    """``n`` small valid WAV files (8-bit, 1 kHz, 6 s) in folders of 500; each has its own content."""
    frames = bytes([128]) * (TINY_RATE_HZ * TINY_SECONDS - 8)
    for i in range(n):
        d = root / f"folder_{i // 500:03d}"
        if i % 500 == 0:
            d.mkdir(parents=True, exist_ok=True)
        with wave.open(str(d / f"track_{i:06d}.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(1)
            w.setframerate(TINY_RATE_HZ)
            w.writeframes(frames + i.to_bytes(8, "little"))  # distinct content: distinct track ids


def fake_outputs(data: Path, library: Path) -> dict:
    """Catalog from a real scan, stand-in batch files for every batch asset, and a 'refreshed' state."""
    import pandas as pd

    from dj_pipeline.catalog import scan_library
    from dj_pipeline.config.ingest import load_ingest_config
    from dj_pipeline.pipeline import requested_embedding, save_state
    from dj_pipeline.storage import DataPaths, write_parquet_atomic
    from dj_pipeline.storage.duckdb_catalog import publish_duckdb
    from dj_pipeline.storage.tables import BATCH_ASSETS, CATALOG_ASSET, CATALOG_FILE, write_batch

    paths = DataPaths(data).ensure()
    t0 = time.perf_counter()
    result = scan_library(library, pd.DataFrame(), pd.DataFrame(), load_ingest_config())
    first_scan_s = time.perf_counter() - t0
    write_parquet_atomic(result.catalog, paths.asset_dir(CATALOG_ASSET) / CATALOG_FILE)
    backend, model = requested_embedding("dsp", None)
    for batch, group in result.catalog.groupby("batch"):
        ids = group["track_id"].tolist()
        for asset in BATCH_ASSETS:
            rows = pd.DataFrame({"track_id": ids, "backend": backend, "model": model or ""})
            if asset == "track_fingerprints":  # the tracks view joins duplicate_of from it
                rows["duplicate_of"] = pd.Series([None] * len(ids), dtype="string")
            write_batch(paths, asset, batch, rows)
    publish_duckdb(paths)
    save_state(paths, {"library_refresh_pending": False, "samples_signature": None})
    return {"tracks": len(result.catalog), "batches": int(result.catalog["batch"].nunique()), "first_scan_s": round(first_scan_s, 1)}


def noop_files(scratch: Path, n: int, profile: bool) -> dict:
    library = scratch / f"tiny_{n}"
    if not (library / f"folder_{(n - 1) // 500:03d}" / f"track_{n - 1:06d}.wav").is_file():
        shutil.rmtree(library, ignore_errors=True)
        write_tiny_wavs(library, n)
    data = scratch / f"data_tiny_{n}"
    shutil.rmtree(data, ignore_errors=True)
    setup = fake_outputs(data, library)
    first = ingest(library, data)  # registers the batches, builds the library-wide state once
    second = ingest(library, data)
    out = {"files": n, **setup, "first_ingest_after_setup": first, "noop_ingest": second}
    if profile:
        prof = scratch / "noop_ingest.prof"
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "dj_pipeline", *ingest_args(library, data)], capture_output=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
        out["profile_top"] = top_of_profile(prof)
    return out


def top_of_profile(prof: Path, n: int = 25) -> list[str]:
    import io
    import pstats

    buf = io.StringIO()
    pstats.Stats(str(prof), stream=buf).sort_stats("cumulative").print_stats(r"dj_pipeline|dagster/_core/instance|execute_in_process", n)
    return [line for line in buf.getvalue().splitlines() if "dj_pipeline" in line or "dagster" in line][:n]


def first_demo(scratch: Path) -> dict:
    data = scratch / "data_demo"
    shutil.rmtree(data, ignore_errors=True)
    return run_dj(["demo", "--data", str(data)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scratch", default="/tmp/ingest_speed")
    ap.add_argument("--base", type=int, default=40)
    ap.add_argument("--new", type=int, default=10)
    ap.add_argument("--duration-scale", type=float, default=1.8)
    ap.add_argument("--base-duration-scale", type=float, default=None,
                    help="length scale of the base library's tracks (default: --duration-scale); e.g. 0.3 for a quick 1,000-track base")
    ap.add_argument("--noop-files", type=int, default=50000)
    ap.add_argument("--skip-new", action="store_true")
    ap.add_argument("--reuse-base", action="store_true", help="start from the snapshot of the base library an earlier run ingested (saves its ingest)")
    ap.add_argument("--demo", action="store_true", help="also time a fresh `dj demo`")
    ap.add_argument("--compare", type=Path, default=None, metavar="TREE",
                    help="then run the same incremental ingest with the code of another checkout (e.g. a git worktree of an older commit)")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    report: dict = {"cpus": os.cpu_count(), "load_at_start": load(), "targets": TARGETS}
    if args.noop_files:
        report["noop_files"] = noop_files(scratch, args.noop_files, args.profile)
        print(f"no-op ingest, {args.noop_files} files: {report['noop_files']['noop_ingest']}")
    if not args.skip_new:
        report["new_into_library"] = r = new_into_library(scratch, args.base, args.new, args.duration_scale, args.base_duration_scale, args.reuse_base)
        print(f"{args.new} new into {args.base}: {r['incremental_ingest']}; per track {r['per_new_track_s']} s, fixed {r['fixed_s']} s, "
              f"refresh {r['library_refresh_s']} s -> 100 into 1,000 ~ {r['projection_100_into_1000_s']} s ({r['projection_note']})")
        if args.compare:
            r["compare"] = c = compare_with(scratch, args.compare.resolve(), args.base, args.duration_scale, args.base_duration_scale, r["incremental_ingest"])
            print(f"the same ingest with {c['tree']} ({c['commit']}): {c['incremental_ingest']['wall_s']} s wall, {c['incremental_ingest']['cpu_s']} s CPU; "
                  f"ours / theirs: wall {c['wall_ratio_ours_to_theirs']}, CPU {c['cpu_ratio_ours_to_theirs']}")
    if args.demo:
        report["first_demo"] = first_demo(scratch)
        print(f"first dj demo: {report['first_demo']}")
    report["load_at_end"] = load()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
