"""What change detection costs: the whole-file digest vs the head/tail ``track_id`` (issue 18).

The scan hashes a file whole only when its size or mtime changed (new, touched, edited files); an
unchanged file costs nothing. This measures, on the first ``--tracks`` audio files of a library
(sorted by path), the head/tail id and the streaming BLAKE2b digest per file, and a first scan
(probe + tags + both hashes) for scale. Files are read once before timing, so both figures are
warm page cache; the bytes read say what a cold disk would cost (the digest reads every byte).

    python bench/scan_hash_cost.py --library /work/realset/audio --tracks 100
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

import dj_pipeline.catalog.scan as scan_module
from dj_pipeline.catalog import content_id, file_digest, find_audio_paths, scan_library
from dj_pipeline.config.ingest import load_ingest_config

RESULTS = Path(__file__).resolve().parent / "results" / "scan_hash_cost.json"


def _time_s(fn, files: list[Path], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for f in files:
            fn(f)
        best = min(best, time.perf_counter() - t0)
    return best


def measure(library: Path, n_tracks: int, repeats: int) -> dict:
    config = load_ingest_config()
    files = find_audio_paths(library)[0][:n_tracks]
    total_bytes = sum(f.stat().st_size for f in files)
    for f in files:  # warm the page cache, so both timings read memory, not the disk
        f.read_bytes()
    head_tail_s = _time_s(lambda f: content_id(f, config.hash_chunk_bytes), files, repeats)
    digest_s = _time_s(file_digest, files, repeats)
    with tempfile.TemporaryDirectory() as tmp:  # the same files, linked into one folder, for a whole first scan
        for i, f in enumerate(files):
            os.symlink(f.resolve(), Path(tmp) / f"{i:04d}{f.suffix}")
        t0 = time.perf_counter()
        scan = scan_library(tmp, pd.DataFrame(), pd.DataFrame(), config)
        first_scan_s = time.perf_counter() - t0
        scan_module.file_digest = lambda path: ""  # the same scan as before issue 18: head/tail id only
        try:
            t0 = time.perf_counter()
            scan_library(tmp, pd.DataFrame(), pd.DataFrame(), config)
            first_scan_no_digest_s = time.perf_counter() - t0
        finally:
            scan_module.file_digest = file_digest
    return {
        "library": str(library),
        "tracks": len(files),
        "total_mb": round(total_bytes / 1e6, 1),
        "head_tail_id_s": round(head_tail_s, 4),
        "whole_file_digest_s": round(digest_s, 4),
        "digest_over_head_tail": round(digest_s / head_tail_s, 1),
        "digest_mb_per_s": round(total_bytes / 1e6 / digest_s, 1),
        "head_tail_bytes_read_mb": round(sum(min(f.stat().st_size, 2 * config.hash_chunk_bytes) for f in files) / 1e6, 2),
        "first_scan_whole_library_s": round(first_scan_s, 2),
        "first_scan_without_digest_s": round(first_scan_no_digest_s, 2),
        "first_scan_ratio": round(first_scan_s / first_scan_no_digest_s, 2),
        "first_scan_tracks": len(scan.catalog),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "note": "warm page cache; best of repeats; not a quiet machine",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", required=True, type=Path, help="a folder of audio files (e.g. the real dev set's audio/)")
    ap.add_argument("--tracks", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    result = measure(args.library, args.tracks, args.repeats)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
