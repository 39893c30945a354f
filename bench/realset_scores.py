"""Scores on the real dev set for ``bench/analysis_accuracy.py --realset``: tempo, key, beats, downbeats.

One row per (system, file): ``bpm``, ``key_root``/``key_mode`` and, where the system tracks beats,
``beats``/``downbeats`` (arrays of seconds). Systems are dj_pipeline and the peers whose cached CSVs
are in ``--peers-out`` (``<peer>.csv``: ``file,bpm,key`` from ``../shared/peers/run_<peer>.py``;
``<peer>_beats.csv``: ``file,beats,downbeats`` from ``bench/peers/run_beats.py``).

Conventions (as in the field, see ``../shared/realset/README.md``): tempo Accuracy1 within 4 %,
Accuracy2 also at x2, x1/2, x3, x1/3; key = MIREX weighted score and exact rate; beat and downbeat
F-measure with mir_eval's +-70 ms window, after mir_eval's usual trimming of the first 5 s.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from dj_pipeline.analysis.metrics import key_relation, key_weighted_score, tempo_accuracy1, tempo_accuracy2
from dj_pipeline.music.keys import parse_key

TEMPO_RATIOS: dict[str, float] = {"x2": 2.0, "x1/2": 0.5, "x3": 3.0, "x1/3": 1 / 3, "x3/2": 1.5, "x2/3": 2 / 3, "x4/3": 4 / 3, "x3/4": 0.75}
METRICS = ("acc1", "acc2", "key_score", "key_exact", "beat_f", "downbeat_f")


def tempo_error_kind(est: float | None, truth: float, tolerance: float = 0.04) -> str:
    """``ok``, a metrical ratio (``x2``, ``x1/2``, ``x3`` ...), ``none`` or ``other``."""
    if est is None or not math.isfinite(float(est)) or est <= 0:
        return "none"
    for name, ratio in {"ok": 1.0, **TEMPO_RATIOS}.items():
        if abs(est / (truth * ratio) - 1.0) <= tolerance:
            return name
    return "other"


def parse_times(text: object) -> np.ndarray | None:
    """Space-separated seconds from a peer CSV cell; ``None`` for a blank cell."""
    if not isinstance(text, str) or not text.strip():
        return None
    return np.array([float(x) for x in text.split()], dtype=np.float64)


def f_measure(est: np.ndarray | None, ref: np.ndarray | None) -> float | None:
    """mir_eval beat F-measure (+-70 ms) after trimming the first 5 s; ``None`` without a reference."""
    import mir_eval

    if ref is None or len(ref) == 0:
        return None
    ref_t = mir_eval.beat.trim_beats(np.asarray(ref, dtype=np.float64))
    est_t = mir_eval.beat.trim_beats(np.asarray(est if est is not None else [], dtype=np.float64))
    if ref_t.size == 0:
        return None
    return float(mir_eval.beat.f_measure(ref_t, est_t))


def read_peer_tables(peers_out: Path) -> dict[str, pd.DataFrame]:
    """``{peer: frame}`` with ``bpm``, ``key`` and (when cached) ``beats``/``downbeats``, keyed by basename."""
    out: dict[str, pd.DataFrame] = {}
    if not peers_out or not Path(peers_out).is_dir():
        return out
    for csv in sorted(Path(peers_out).glob("*.csv")):
        name = csv.stem
        peer, kind = (name[: -len("_beats")], "beats") if name.endswith("_beats") else (name, "tempo_key")
        df = pd.read_csv(csv, dtype={"key": str, "beats": str, "downbeats": str})
        if df.empty or "file" not in df:
            continue
        df["name"] = [Path(f).parent.name + "/" + Path(f).name for f in df["file"]]
        df = df.drop(columns=["file"]).set_index("name")
        if kind == "beats":
            df = df.rename(columns={"beats": "beats_text", "downbeats": "downbeats_text"})
        out[peer] = out[peer].join(df, how="outer") if peer in out else df
    return out


def peer_row(peer: str, table: pd.DataFrame, name: str) -> dict:
    """One scored-later row of a peer for ``name`` (``dataset/file``); missing values are ``None``."""
    row: dict = {"system": peer}
    if name not in table.index:
        return row
    r = table.loc[name]
    if "bpm" in table and table["bpm"].notna().any():  # a tempo peer: a blank is a miss
        row["bpm"] = float(r["bpm"]) if pd.notna(r["bpm"]) else None
    if "key" in table and table["key"].notna().any():  # a key peer
        key = parse_key(r["key"]) if isinstance(r["key"], str) and r["key"].strip() else None
        row["key_root"], row["key_mode"] = key if key else (None, None)
    if "beats_text" in r:
        row["beats"] = parse_times(r["beats_text"])
        row["downbeats"] = parse_times(r.get("downbeats_text"))
    return row


def score_real_row(row: dict, truth: pd.Series, ref_beats: np.ndarray | None, ref_downbeats: np.ndarray | None) -> dict:
    """Add tempo, key, beat and downbeat scores (and error kinds) to a system's row for one file."""
    truth_bpm = float(truth["bpm"])
    bpm = row.get("bpm")
    if "bpm" in row:  # a beats-only or key-only peer has no tempo column
        row["acc1"] = tempo_accuracy1(bpm, truth_bpm)
        row["acc2"] = tempo_accuracy2(bpm, truth_bpm)
        row["tempo_error"] = tempo_error_kind(bpm, truth_bpm)
    if "key_root" in row and truth.get("key_root") is not None and pd.notna(truth.get("key_root")):
        ref = (int(truth["key_root"]), str(truth["key_mode"]))
        row["key_score"] = key_weighted_score(row.get("key_root"), row.get("key_mode"), *ref)
        row["key_error"] = key_relation(row.get("key_root"), row.get("key_mode"), *ref)
        row["key_exact"] = row["key_error"] == "same"
    if ref_beats is not None and "beats" in row:
        row["beat_f"] = f_measure(row.get("beats"), ref_beats)
        if row.get("downbeats") is not None:
            row["downbeat_f"] = f_measure(row["downbeats"], ref_downbeats)
    return row


def group_table(df: pd.DataFrame, by: str, systems: list[str]) -> pd.DataFrame:
    """Mean of every metric per group of ``by`` (plus ALL) and system; n = files in the group."""
    recs = []
    for group, g in [("ALL", df), *df.groupby(by)]:
        rec: dict = {by: group, "n": int(g["file"].nunique())}
        for system in systems:
            s = g[g["system"] == system]
            for m in METRICS:
                if m in s and s[m].notna().any():
                    rec[f"{system} {m}"] = float(s[m].dropna().astype(float).mean())
        recs.append(rec)
    return pd.DataFrame(recs)


def headline(df: pd.DataFrame, systems: list[str]) -> pd.DataFrame:
    """The issue's table: per system tempo Acc1/Acc2, key MIREX/exact, beat F, downbeat F (all files)."""
    recs = []
    for system in systems:
        s = df[df["system"] == system]
        rec = {"system": system}
        for m in METRICS:
            rec[m] = float(s[m].dropna().astype(float).mean()) if m in s and s[m].notna().any() else None
            rec[f"n_{m}"] = int(s[m].notna().sum()) if m in s else 0
        recs.append(rec)
    return pd.DataFrame(recs)


def worst_cases(df: pd.DataFrame, system: str, n: int = 12) -> list[str]:
    """Lines naming the worst tempo, key and beat cases of ``system`` with the kind of error."""
    s = df[df["system"] == system]
    lines = [f"tempo errors: " + ", ".join(f"{k}={v}" for k, v in s["tempo_error"].value_counts().items())]
    bad = s[s["tempo_error"] != "ok"].assign(err=lambda d: (d["bpm"].fillna(0) / d["truth_bpm"] - 1).abs())
    for r in bad.sort_values("err", ascending=False).head(n).itertuples():
        lines.append(f"  {r.tempo_error:5s} truth {r.truth_bpm:6.1f} est {r.bpm if pd.notna(r.bpm) else float('nan'):7.2f}  {r.group:12s} {r.file}")
    if "key_error" in s and s["key_error"].notna().any():
        k = s[s["key_error"].notna()]
        lines.append("key errors: " + ", ".join(f"{a}={b}" for a, b in k["key_error"].value_counts().items()))
        for r in k[k["key_error"] != "same"].head(n).itertuples():
            lines.append(f"  {r.key_error:8s} truth {r.truth_key:9s} est {r.key_est:9s} {r.group:12s} {r.file}")
    if "beat_f" in s and s["beat_f"].notna().any():
        b = s[s["beat_f"].notna()].sort_values("beat_f")
        for r in b.head(n).itertuples():
            db = f"{r.downbeat_f:.2f}" if "downbeat_f" in s and pd.notna(getattr(r, "downbeat_f", None)) else "  - "
            lines.append(f"  beat F {r.beat_f:.2f} downbeat F {db} ({r.tempo_error}) {r.group:12s} {r.file}")
    return lines


def constant_grid(bpm: float | None, first_downbeat_s: float | None, duration_s: float, beats_per_bar: int = 4) -> tuple[np.ndarray, np.ndarray] | None:
    """Beats and downbeats of a straight grid at ``bpm`` through ``first_downbeat_s`` (the grid before issue 13)."""
    if bpm is None or first_downbeat_s is None or not bpm > 0:
        return None
    period = 60.0 / bpm
    t0 = first_downbeat_s - np.floor(first_downbeat_s / period) * period
    beats = np.arange(t0, duration_s, period)
    k0 = int(round((first_downbeat_s - t0) / period)) % beats_per_bar
    return beats, beats[k0::beats_per_bar]
