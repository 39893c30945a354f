"""The README's main job: generate the demo library, ingest it end to end, print a recommended set."""

from __future__ import annotations

from pathlib import Path

from dj_pipeline.storage import DataPaths

DEMO_SUBDIR = "demo_library"


def run_demo(
    data_dir: str | None = None, n_tracks: int = 24, n_samples: int = 16, seed: int = 0, set_length: int = 10
) -> list[dict]:
    """Generate (once) and ingest the demo library, then walk a ``set_length``-track session.

    The session starts from the first house track of the demo and follows a warm-up -> peak ->
    release plan; each step prints BPM, key/Camelot, energy and the strongest reasons.
    """
    from dj_pipeline.demo import generate_library
    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.query import SessionRecommender
    from dj_pipeline.recommend.output import format_set

    paths = DataPaths(data_dir).ensure()
    lib = paths.root / DEMO_SUBDIR
    truth_file = lib / "truth.csv"
    if not truth_file.exists():
        print(f"generating the demo library ({n_tracks} tracks, {n_samples} one-shots) in {lib} ...")
        generate_library(lib, n_tracks=n_tracks, n_samples=n_samples, seed=seed)
    report = run_ingest(lib / "tracks", paths.root, samples_dir=lib / "samples")
    print(f"ingest done in {report.seconds:.1f}s")

    session = SessionRecommender(data_dir=str(paths.root), session="demo", plan="warmup_peak_release", reset=True)
    start = _start_track(session)
    chosen = session.walk(start, n=set_length)
    print()
    print(format_set(chosen))
    print(f"\nplaylist: {session.export_m3u8(paths.root / 'demo_set.m3u8')}")
    print(f"SQL:      python -m dj_pipeline sql \"SELECT bpm, key, camelot, energy FROM track_features LIMIT 5\" --data {paths.root}")
    return chosen


def _start_track(session) -> str:  # noqa: ANN001 - a SessionRecommender
    """A house track to open with when there is one, else the first track (deterministic)."""
    tracks = session.recommender.tracks
    house = tracks[tracks["path"].str.contains("house", case=False, na=False)]
    row = (house if not house.empty else tracks).sort_values("path").iloc[0]
    return str(Path(row["path"]))
