"""The README's main job: generate the demo library, ingest it end to end, print a recommended set."""

from __future__ import annotations

import time
from typing import Any

from dj_pipeline.storage import DataPaths

DEMO_SUBDIR = "demo_library"
DEMO_SESSION = "demo"
# Demo tracks are ~3 minutes, so the plan is scaled to a 10-track set (~30 min) to show every goal.
DEMO_PLAN = "warm-up 9 min -> peak 6 min -> release"
# The demo embeds with the offline DSP embedder even when musicnn is installed: its generated styles
# are what dsp was built on, and musicnn (~75x real time per core) would add tens of seconds to the
# < 90 s first run. Real libraries (`dj ingest`) get `auto` (clap > musicnn > dsp).
DEMO_EMBEDDING_BACKEND = "dsp"


def run_demo(
    data_dir: str | None = None, n_tracks: int = 24, n_samples: int = 16, seed: int = 0, set_length: int = 10
) -> list[dict[str, Any]]:
    """Generate (once) and ingest the demo library, then walk a ``set_length``-track session.

    The set opens on the calmest house track of the demo and follows a warm-up -> peak -> release
    plan: each step takes the top recommendation for the plan's goal at that point
    of the set, and the printout gives BPM, key/Camelot, energy level, the match score and the
    reasons in words. The demo writes no feedback (its picks are not a DJ's).
    """
    from dj_pipeline.demo import generate_library
    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.query import SessionRecommender

    paths = DataPaths(data_dir).ensure()
    lib = paths.root / DEMO_SUBDIR
    if not (lib / "truth.csv").exists():
        print(f"generating the demo library ({n_tracks} tracks, {n_samples} one-shots) in {lib} ...")
        generate_library(lib, n_tracks=n_tracks, n_samples=n_samples, seed=seed, workers=0)  # one process per core: same bytes, sooner
    from dj_pipeline.progress import ingest_summary, on_terminal

    started = time.perf_counter()
    report = run_ingest(
        lib / "tracks", paths.root, samples_dir=lib / "samples", embedding_backend=DEMO_EMBEDDING_BACKEND, show_progress=on_terminal()
    )
    print(ingest_summary(paths, report, time.perf_counter() - started) + "\n")

    # the demo's automatic picks are not a DJ's choices: they never reach the feedback log
    session = SessionRecommender(data_dir=str(paths.root), session=DEMO_SESSION, plan=DEMO_PLAN, log_feedback=False)
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
    print(f"UI:       python3 -m dj_pipeline ui --data {paths.root}   (Dagster, over this demo library)")
    return chosen


def opening_track(tracks) -> str:  # noqa: ANN001 - the engine's feature table, indexed by track_id
    """The calmest house track (lowest energy level, then by path: deterministic), else the
    calmest track: a set opens low so the warm-up has somewhere to go."""
    paths = tracks["path"].astype(str)
    house = paths.str.contains("/house/", regex=False)
    pool = tracks[house] if house.any() else tracks
    order = pool.assign(_path=paths[pool.index]).sort_values(["energy_level", "_path"], kind="stable")
    return str(order.index[0])


def format_set(items: list[dict[str, Any]]) -> str:
    """One line per track: position, goal, BPM, key and Camelot, energy level 1-10, the match
    score of the pick, where to mix (out of the previous track > into this one, when cued), the track, and the reasons in words (plus what a relaxed pick breaks)."""
    from dj_pipeline.recommend.output import RELAXED_WORDS, display_name

    with_mix = any(it.get("mix_in_s") is not None or it.get("current_mix_out_s") is not None for it in items)
    columns = ["#", "goal", "bpm", "key", "camelot", "energy", "match", *(["mix"] if with_mix else []), "track", "why"]
    rows = []
    for i, it in enumerate(items, 1):
        level = it.get("energy_level")
        why = ", ".join(it.get("reasons") or [])
        if it.get("relaxed"):
            why += f" [{', '.join(RELAXED_WORDS.get(x, x) for x in it['relaxed'])}]"
        rows.append(
            [
                str(i),
                it.get("goal", ""),
                f"{it['bpm']:.1f}" if it.get("bpm") is not None else "-",
                it.get("key") or "-",
                it.get("camelot") or "-",
                f"{level}/10" if level is not None else "-",
                f"{it['match']:.0f}" if it.get("match") is not None else "",
                *([transition_text(it)] if with_mix else []),
                display_name(it),
                why,
            ]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(columns, *rows)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [columns, *rows])


def transition_text(item: dict[str, Any]) -> str:
    """"5:12 > 0:15": out of the previous track at its mix_out cue, into this one at its mix_in."""
    from dj_pipeline.timecode import clock

    out_s, in_s = item.get("current_mix_out_s"), item.get("mix_in_s")
    if out_s is None and in_s is None:
        return ""
    return f"{clock(out_s) if out_s is not None else '?'} > {clock(in_s) if in_s is not None else '?'}"


def _row_as_result(tracks, track_id: str) -> dict[str, Any]:  # noqa: ANN001
    row = tracks.loc[track_id]
    keep = ("path", "bpm", "key", "camelot", "energy", "energy_level", "loudness_lufs", "artist", "title")
    return {"track_id": track_id, **{k: (row[k] if k in row and row[k] == row[k] else None) for k in keep}}
