"""Real-music mode of ``bench/analysis_accuracy.py``: dj_pipeline and the peers on the extracted dev set.

dj_pipeline analyses every file as the pipeline does (window sampler -> windows at the analysis
rate -> ``analyze_segments``; the beat grid from :func:`dj_pipeline.analysis.beats.file_beats`, the
streamed whole-track pass the ``track_beats`` table comes from). With ``--genre-tags`` the GTZAN
genre is passed to the analysis as the file's genre tag (a tagged library); without it, the
analysis sees no tags at all. Peers are read from their cached CSVs (see ``realset_scores``).

Split: ``bench/realset.py``'s fixed ``holdout_split`` (2 folds, fold 0 = ``holdout``, reported;
the rest = ``tune``, what the tempo/beat settings were tuned on). Both parts and ALL are printed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from realset import downbeats, holdout_split, load_truth, read_beats
from realset_scores import constant_grid, group_table, headline, peer_row, read_peer_tables, score_real_row, worst_cases

from dj_pipeline.analysis import analyze_segments, load_analysis_config
from dj_pipeline.catalog.hashing import content_id
from dj_pipeline.windows import read_windows, select_windows

OURS = "dj_pipeline"


def analyse_ours(path: str, duration_s: float, genre: str | None, cfg) -> dict:
    """dj_pipeline's row for one file: bpm, key, first downbeat, beats/downbeats, CPU seconds."""
    t0 = time.process_time()
    windows = select_windows(path, track_id=content_id(path))
    segments = read_windows(path, windows, cfg.sr)
    tags = {"genre": genre} if genre else None
    f = analyze_segments(segments, cfg.sr, duration_s, cfg, tags=tags)
    row = {"system": OURS, "bpm": f["bpm"], "key_root": f["key_root"], "key_mode": f["key_mode"],
           "first_downbeat_s": f["first_downbeat_s"], "warnings": f["analysis_warnings"]}  # fmt: skip
    try:
        from dj_pipeline.analysis.beats import file_beats
    except ImportError:  # before the beat tracker: the straight grid through first_downbeat_s
        grid = constant_grid(f["bpm"], f["first_downbeat_s"], duration_s)
        row["beats"], row["downbeats"] = grid if grid else (np.zeros(0), np.zeros(0))
    else:
        track = file_beats(path, f["bpm"], cfg)
        row["beats"], row["downbeats"] = track.beats_s, track.downbeats_s
    row["cpu_s"] = time.process_time() - t0
    return row


def cached_ours(cache: Path | None, name: str, compute) -> dict:
    """dj_pipeline's row for ``name`` from ``cache`` (one JSON per file), else computed and stored there."""
    if cache is None:
        return compute()
    f = cache / (name.replace("/", "__") + ".json")
    if f.exists():
        row = json.loads(f.read_text())
        row["beats"], row["downbeats"] = np.asarray(row["beats"]), np.asarray(row["downbeats"])
        return row
    row = compute()
    cache.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps({**row, "beats": list(map(float, row["beats"])), "downbeats": list(map(float, row["downbeats"]))}))
    return row


def realset_frame(
    root: Path, peers_out: Path | None, genre_tags: bool, limit: int | None, cache: Path | None = None, peer_report: Path | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Scored rows of every system on every file (GTZAN first); the systems in display order.

    ``cache``: a scratch folder for dj_pipeline's per-file rows, so an interrupted run resumes
    (empty it whenever the analysis or its settings change). ``peer_report``: an earlier report of
    this benchmark on the same files, whose peers' scored rows are reused (peers not in ``peers_out``).
    """
    cfg = load_analysis_config()
    truth = load_truth(root).sort_values("is_gtzan", ascending=False, kind="stable")
    truth["split"] = np.where(holdout_split(truth["file"]), "holdout", "tune")
    if limit:
        truth = truth.groupby(truth["genre"].fillna(truth["dataset"]), group_keys=False).head(max(1, limit // 14))
    peers = read_peer_tables(peers_out) if peers_out else {}
    rows = []
    for i, t in enumerate(truth.itertuples(index=False), 1):
        t = pd.Series(t._asdict())
        has_beats = isinstance(t["beats_path"], str) and bool(t["beats_path"])
        ref = read_beats(t["beats_path"])[0] if has_beats else None
        ref_down = downbeats(t["beats_path"]) if has_beats else None
        genre = t["genre"] if isinstance(t["genre"], str) and genre_tags else None
        ours = cached_ours(cache, t["file"], lambda: analyse_ours(t["path"], float(t["duration_s"]), genre, cfg))
        systems = [ours]
        systems += [peer_row(p, table, t["file"]) for p, table in peers.items()]
        for row in systems:
            key_est = f"{row.get('key_root')}:{row.get('key_mode')}" if row.get("key_root") is not None else "-"
            row.update(file=t["file"], truth_bpm=float(t["bpm"]), truth_key=t["key"] if isinstance(t["key"], str) else "",
                       key_est=key_est, dataset="gtzan" if t["is_gtzan"] else "fnf", split=t["split"],
                       group=t["genre"] if t["is_gtzan"] else t["dataset"].replace("fnf_", ""))  # fmt: skip
            rows.append(score_real_row(row, t, ref, ref_down))
        if i % 20 == 0:
            print(f"  ... {i}/{len(truth)} real files", flush=True)
    df = pd.DataFrame(rows)
    earlier = earlier_peer_rows(peer_report, set(truth["file"]), {OURS, *peers})
    return pd.concat([df, earlier], ignore_index=True), [OURS, *peers, *earlier["system"].unique()]


def earlier_peer_rows(report: Path | None, files: set[str], skip: set[str]) -> pd.DataFrame:
    """The scored rows of the peers in an earlier ``analysis_accuracy_realset.json`` (same files, same
    truth: the peers' outputs do not change), for the files of this run; none without a report."""
    if report is None:
        return pd.DataFrame(columns=["system", "file"])
    rows = pd.DataFrame(json.loads(Path(report).read_text())["rows"])
    return rows[~rows["system"].isin(skip) & rows["file"].isin(files)].reset_index(drop=True)


def print_realset(df: pd.DataFrame, systems: list[str]) -> dict:
    """Print the issue's table (all / holdout / tune), per dataset and genre tables, worst cases."""
    fmt = {"float_format": lambda x: f"{x:.3f}", "index": False}
    report: dict = {}
    for part, d in (("ALL", df), ("holdout", df[df["split"] == "holdout"]), ("tune", df[df["split"] == "tune"])):
        table = headline(d, systems)
        n = d["file"].nunique()
        print(f"\n=== real dev set, {part}: {n} files (tempo: all; key: keyed GTZAN; beats: GTZAN) ===")
        print(table[["system", "acc1", "acc2", "key_score", "key_exact", "beat_f", "downbeat_f"]].to_string(**fmt))
        report[f"headline_{part}"] = table.to_dict(orient="records")
        for ds, g in d.groupby("dataset"):
            report[f"headline_{part}_{ds}"] = headline(g, systems).to_dict(orient="records")
    for by in ("dataset", "group"):
        table = group_table(df, by, systems)
        for metric in ("acc1", "acc2", "key_score", "beat_f", "downbeat_f"):
            cols = [c for c in table.columns if c.endswith(f" {metric}")]
            if cols:
                print(f"\n{metric} per {by}:")
                print(table[[by, "n", *cols]].rename(columns=lambda c: c.replace(f" {metric}", "")).to_string(**fmt))
        report[f"per_{by}"] = table.to_dict(orient="records")
    print(f"\nworst cases of {OURS}:")
    print("\n".join(worst_cases(df, OURS)))
    return report


def rows_for_json(df: pd.DataFrame) -> list[dict]:
    """Per-file numbers only (no beat arrays: labels and estimates stay out of the repository)."""
    keep = [c for c in df.columns if c not in ("beats", "downbeats", "warnings")]
    return df[keep].to_dict(orient="records")
