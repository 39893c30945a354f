"""The README's main job: generate the demo library, ingest it end to end, print a recommended set."""

from __future__ import annotations

from typing import Any

from dj_pipeline.storage import DataPaths

DEMO_SUBDIR = "demo_library"
DEMO_SESSION = "demo"
# Demo tracks are ~3 minutes, so the plan is scaled to a 10-track set (~30 min) to show every goal.
DEMO_PLAN = "warm-up 9 min -> peak 12 min -> release"
REASONS_SHOWN = 2


def run_demo(
    data_dir: str | None = None, n_tracks: int = 24, n_samples: int = 16, seed: int = 0, set_length: int = 10
) -> list[dict[str, Any]]:
    """Generate (once) and ingest the demo library, then walk a ``set_length``-track session.

    The set opens on the first house track of the demo and follows a warm-up -> peak -> release
    plan: each step takes the top recommendation for the plan's goal at that point
    of the set, and the printout gives BPM, key/Camelot, energy and the terms that lifted each
    pick most above the other candidates.
    """
    from dj_pipeline.demo import generate_library
    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.query import SessionRecommender

    paths = DataPaths(data_dir).ensure()
    lib = paths.root / DEMO_SUBDIR
    if not (lib / "truth.csv").exists():
        print(f"generating the demo library ({n_tracks} tracks, {n_samples} one-shots) in {lib} ...")
        generate_library(lib, n_tracks=n_tracks, n_samples=n_samples, seed=seed)
    report = run_ingest(lib / "tracks", paths.root, samples_dir=lib / "samples")
    print(f"ingest done in {report.seconds:.1f}s\n")

    session = SessionRecommender(data_dir=str(paths.root), session=DEMO_SESSION, plan=DEMO_PLAN)
    session.reset()
    tracks = session.recommender.engine.table
    start = opening_track(tracks)
    chosen: list[dict[str, Any]] = [{**_row_as_result(tracks, start), "goal": "start", "components": {}}]
    recs = session.next(current=start)
    while len(chosen) < set_length and recs:
        pick = {**recs[0], "goal": session.last_goal}
        chosen.append(pick)
        session.add_played(pick["track_id"])
        recs = session.next()
    print(format_set(chosen))
    playlist = session.export_m3u8(paths.root / "demo_set.m3u8")
    print(f"\nplaylist: {playlist}")
    print(f'SQL:      python3 -m dj_pipeline sql "SELECT bpm, key, camelot, energy FROM track_features" --data {paths.root}')
    return chosen


def opening_track(tracks) -> str:  # noqa: ANN001 - the engine's feature table, indexed by track_id
    """The first house track by path (deterministic), else the first track."""
    paths = tracks["path"].astype(str)
    house = paths[paths.str.contains("/house/", regex=False)]
    return str((house if not house.empty else paths).sort_values().index[0])


def format_set(items: list[dict[str, Any]]) -> str:
    """One line per track: position, goal, BPM, Camelot, key, energy, loudness (LUFS: the energy
    goals move along the energy score and the loudness together), name and the top reasons."""
    from dj_pipeline.recommend.output import display_name

    lines = [f"{'#':>2}  {'goal':<8} {'bpm':>6}  {'cam':<4} {'key':<9} {'energy':>6} {'lufs':>6}  track / why"]
    for i, it in enumerate(items, 1):
        lift = it.get("lift") or {}
        top = sorted(((k, v) for k, v in lift.items() if v > 0), key=lambda kv: -kv[1])[:REASONS_SHOWN]  # what set it apart
        why = ", ".join(f"{k} {v:+.2f}" for k, v in top)
        relaxed = f" [relaxed: {','.join(it['relaxed'])}]" if it.get("relaxed") else ""
        bpm = f"{it['bpm']:.1f}" if it.get("bpm") is not None else "-"
        energy = f"{it['energy']:.2f}" if it.get("energy") is not None else "-"
        lufs = f"{it['loudness_lufs']:.1f}" if it.get("loudness_lufs") is not None else "-"
        lines.append(
            f"{i:>2}  {it.get('goal', ''):<8} {bpm:>6}  {it.get('camelot') or '-':<4} {it.get('key') or '-':<9} {energy:>6} {lufs:>6}  "
            f"{display_name(it)}{'  (' + why + ')' if why else ''}{relaxed}"
        )
    return "\n".join(lines)


def _row_as_result(tracks, track_id: str) -> dict[str, Any]:  # noqa: ANN001
    row = tracks.loc[track_id]
    keep = ("path", "bpm", "key", "camelot", "energy", "loudness_lufs", "artist", "title")
    return {"track_id": track_id, **{k: (row[k] if k in row and row[k] == row[k] else None) for k in keep}}
