"""Recommendation quality against the demo library's ground truth, ours vs a plain baseline.

For every library track as the current track and every goal, the top-k of
``dj_pipeline.query.Recommender`` and of the baseline -- cosine k-NN on z-scored features,
``dj_pipeline.recommend.SimilarityBundle`` (the pipeline's saved model, else fitted here; it
ignores the goal) -- are judged by the TRUTH labels of ``truth.csv``: share BPM-compatible,
key-compatible, both, same style, and energy-goal adherence (truth energy_level, and the
analysed energy). Shares are reported over all queries and over the queries whose library holds
>= 1 / >= top_k truth-compatible (BPM and key) candidates. "capped" = compatible picks divided by
min(top_k, compatible candidates available), i.e. the share of what was achievable.
Then sessions of ``--session-tracks`` tracks (the top pick each step, goals per ``--schedule``):
repeats (must be 0), mean BPM step, key/BPM-compatible transitions, goal adherence.
Finally the failure pattern of our truth-incompatible picks (relaxation, unclear key, wrong analysis).

    python bench/recommend_quality.py --data /tmp/recbench/data --lib /tmp/recbench/lib
Targets: >= 0.95 BPM- and >= 0.90 key-compatible top-10 where such candidates exist; better than
the baseline on every metric the issue names (``recommend_report.named_by_issue``; the other rows
are this bench's diagnostics and are listed apart); 0 repeats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recommend_report import SHARE_METRICS, failure_table, print_report, target_lines  # noqa: E402
from recommend_truth import TruthJudge, goal_met, load_truth, parse_schedule  # noqa: E402

from dj_pipeline.config.recommend import load_recommend_config  # noqa: E402
from dj_pipeline.music.keys import camelot_distance  # noqa: E402
from dj_pipeline.query import Recommender  # noqa: E402
from dj_pipeline.recommend import RecommendError, SimilarityBundle, bpm_compatible  # noqa: E402
from dj_pipeline.recommend.filters import key_enforced, key_relation  # noqa: E402
from dj_pipeline.storage import DataPaths, read_asset  # noqa: E402

METHODS = ("ours", "baseline")
ORACLE_METRICS = ("style", "energy_truth", "energy_analysed")  # top-k shares with a computed upper bound under the strict filters


@dataclass
class Setup:
    rec: Recommender
    judge: TruthJudge
    truth: pd.DataFrame
    features: pd.DataFrame
    bundle: SimilarityBundle
    bundle_source: str


def load_setup(data_dir: str, lib_dir: str) -> Setup:
    """The recommender over ``data_dir``, the truth of ``lib_dir`` and the baseline model."""
    rec = Recommender(data_dir)
    cfg = rec.config
    truth = load_truth(lib_dir, rec.engine.table)
    features = read_asset(rec.paths, "track_features")
    model_file = DataPaths(data_dir).models_dir / cfg.similarity.file
    if model_file.exists():
        bundle, source = SimilarityBundle.load(model_file), f"saved model {model_file.name}"
    else:
        bundle, source = SimilarityBundle(cfg.similarity).fit(features), "fitted here (no saved model)"
    judge = TruthJudge(truth, cfg.bpm, cfg.key.max_distance)
    return Setup(rec, judge, truth, features, bundle, source)


def baseline_picks(s: Setup, current: str, k: int, exclude: list[str]) -> list[str]:
    return [t for t, _ in s.bundle.neighbors(s.features, current, k=k, exclude=exclude) if t in s.judge.row]


def _share(values: np.ndarray) -> float:
    """Mean of a boolean (share) or numeric array; NaN when empty."""
    return float(np.mean(values)) if len(values) else float("nan")


def query_row(s: Setup, method: str, current: str, goal: str, picks: list[str], k: int, tol: dict[str, float]) -> dict:
    """Truth shares of one top-k list, with what the library made achievable."""
    j = s.judge.judge(current, picks)
    both = j.bpm_ok & j.key_ok
    avail = s.judge.available(current)
    table = s.rec.engine.table
    e_an = table.loc[picks, "z_energy"].to_numpy() - float(table.at[current, "z_energy"]) if picks else np.zeros(0)
    return {
        "method": method, "current": current, "goal": goal, "n": len(picks),
        "bpm": _share(j.bpm_ok), "key": _share(j.key_ok), "both": _share(both), "style": _share(j.same_style),
        "energy_truth": _share(goal_met(goal, j.energy_delta, tol["truth"])),
        "energy_analysed": _share(goal_met(goal, e_an, tol["analysed"])),
        "energy_top1": float(goal_met(goal, j.energy_delta[:1], tol["truth"])[0]) if picks else float("nan"),
        "energy_delta": float(np.mean(j.energy_delta)) if picks else float("nan"),
        "goal_avail": s.judge.goal_available(current, goal, tol["truth"]),
        **oracle_columns(s, current, goal, k, tol),
        "capped_both": float(both.sum()) / min(k, avail["both"]) if avail["both"] else float("nan"),
        "avail_bpm": avail["bpm"], "avail_key": avail["key"], "avail_both": avail["both"], "avail_style": avail["both_same_style"],
    }  # fmt: skip


def oracle_columns(s: Setup, current: str, goal: str, k: int, tol: dict[str, float]) -> dict[str, float]:
    """The best share any top-k list obeying the strict BPM and key filters could reach (by
    truth): same style, energy goal (truth and analysed energy; top-k and top-1). Where the
    baseline beats this bound, no recommender that meets the BPM and key targets can beat the
    baseline on that metric."""
    style, _ = s.judge.oracle_share(current, s.judge.style_mask(current), k)
    energy, energy_top1 = s.judge.oracle_share(current, s.judge.goal_mask(current, goal, tol["truth"]), k)
    z = s.rec.engine.table.loc[s.judge.ids, "z_energy"].to_numpy(dtype=np.float64)
    analysed, _ = s.judge.oracle_share(current, goal_met(goal, z - z[s.judge.row[current]], tol["analysed"]), k)
    return {"oracle_style": style, "oracle_energy_truth": energy, "oracle_energy_top1": energy_top1, "oracle_energy_analysed": analysed}


def classify_failures(s: Setup, current: str, results: list[dict]) -> list[tuple[str, str, str]]:
    """(constraint, reason, pick id) for each of our picks that breaks BPM or key compatibility by truth."""
    cfg = s.rec.config
    t = s.rec.engine.table
    j = s.judge.judge(current, [r["track_id"] for r in results])
    out = []
    cur_clarity = float(t.at[current, "key_clarity"])
    truth_cam = s.truth["camelot"]
    for i, r in enumerate(results):
        pid = r["track_id"]
        if not j.key_ok[i]:
            dist, _ = key_relation(t.at[current, "camelot"], np.array([t.at[pid, "camelot"]], dtype=object))
            if "key" in r["relaxed"]:
                reason = "relaxed (too few strict passes)"
            elif not key_enforced(cur_clarity, np.array([t.at[pid, "key_clarity"]]), dist, cfg.key)[0]:
                who = "current" if cur_clarity < cfg.key.min_clarity else "pick"
                reason = f"key filter off: {who}'s key_clarity < {cfg.key.min_clarity} (or key unknown)"
            else:
                wrong = [n for n, x in (("current", current), ("pick", pid)) if t.at[x, "camelot"] != truth_cam[x]]
                reason = f"analysed key wrong ({' and '.join(wrong) or 'neither?'})"
            out.append(("key", reason, pid))
        if not j.bpm_ok[i]:
            if "bpm" in r["relaxed"]:
                reason = "relaxed (too few strict passes)"
            elif not np.isfinite(float(t.at[current, "bpm"])):
                reason = "current BPM unknown (filter off)"
            else:
                reason = "passes on analysed BPMs, misses on truth (tolerance edge)"
            out.append(("bpm", reason, pid))
    return out


def run_queries(
    s: Setup, goals: list[str], k: int, tol: dict[str, float], methods: tuple[str, ...] = METHODS, currents: list[str] | None = None
) -> tuple[pd.DataFrame, list[tuple[str, str, str]], list[float]]:
    """Every track (or ``currents``) as the current track, for every goal and method."""
    rows, failures, latency_s = [], [], []
    for current in s.judge.ids if currents is None else currents:
        base = baseline_picks(s, current, k, []) if "baseline" in methods else []
        for goal in goals:
            if "ours" in methods:
                t0 = time.perf_counter()
                results = s.rec.recommend(current, goal=goal, top_k=k)
                latency_s.append(time.perf_counter() - t0)
                picks = [r["track_id"] for r in results if r["track_id"] in s.judge.row]
                rows.append({**query_row(s, "ours", current, goal, picks, k, tol), "relaxed": sum(bool(r["relaxed"]) for r in results)})
                failures.extend(classify_failures(s, current, [r for r in results if r["track_id"] in s.judge.row]))
            if "baseline" in methods:
                rows.append(query_row(s, "baseline", current, goal, base, k, tol))
    return pd.DataFrame(rows), failures, latency_s


def walk_session(s: Setup, method: str, start: str, schedule: list[str], k: int) -> list[str]:
    """Track ids of one session: the top pick after each step (stops early if nothing is left)."""
    played = [start]
    for goal in schedule:
        if method == "ours":
            recs = s.rec.recommend(played[-1], goal=goal, top_k=k, history=played)
            nxt = recs[0]["track_id"] if recs else None
        else:
            picks = baseline_picks(s, played[-1], 1, played)
            nxt = picks[0] if picks else None
        if nxt is None:
            break
        played.append(nxt)
    return played


def session_row(s: Setup, method: str, played: list[str], schedule: list[str], tol: float) -> dict:
    """Truth metrics of one walked session (each transition judged on its own)."""
    steps = [s.judge.judge(a, [b]) for a, b in zip(played, played[1:])]

    def per_step(attr: str) -> np.ndarray:
        return np.array([getattr(j, attr)[0] for j in steps])

    return {
        "method": method, "length": len(played), "repeats": len(played) - len(set(played)),
        "bpm_step": _share(per_step("bpm_step")), "bpm_step_raw": _share(per_step("bpm_step_raw")),
        "key_ok": _share(per_step("key_ok")), "bpm_ok": _share(per_step("bpm_ok")),
        "both_ok": _share(per_step("key_ok") & per_step("bpm_ok")), "style_kept": _share(per_step("same_style")),
        "goal_ok": _share(np.array([bool(goal_met(g, j.energy_delta, tol)[0]) for g, j in zip(schedule, steps)])),
    }  # fmt: skip


def run_sessions(s: Setup, n_sessions: int, schedule: list[str], k: int, tol: float, methods: tuple[str, ...] = METHODS) -> pd.DataFrame:
    ids = s.judge.ids
    starts = [ids[i] for i in np.unique(np.linspace(0, len(ids) - 1, min(n_sessions, len(ids))).astype(int))]
    rows = []
    for start in starts:
        for method in methods:
            rows.append(session_row(s, method, walk_session(s, method, start, schedule, k), schedule, tol))
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------- summary
def query_groups(q: pd.DataFrame, k: int) -> dict[str, pd.Series]:
    return {"all": q["avail_both"] >= 0, ">=1 compat": q["avail_both"] >= 1, f">={k} compat": q["avail_both"] >= k}


def summarise(q: pd.DataFrame, sessions: pd.DataFrame, k: int) -> dict:
    out: dict = {"queries": {}, "energy_by_goal": {}, "sessions": {}}
    for gname, mask in query_groups(q, k).items():
        sub = q[mask]
        out["queries"][gname] = {
            m: {"n_queries": int((sub["method"] == m).sum()), **{c: float(sub.loc[sub["method"] == m, c].mean()) for c in (*SHARE_METRICS, "capped_both")}}
            for m in METHODS
        }
        ours = sub[sub["method"] == "ours"]
        out["queries"][gname]["oracle"] = {c: float(ours[f"oracle_{c}"].mean()) for c in ORACLE_METRICS}
    for goal, sub in q.groupby("goal", sort=False):
        rich = sub[sub["goal_avail"] >= k]
        out["energy_by_goal"][goal] = {
            m: {
                **{c: float(sub.loc[sub["method"] == m, c].mean()) for c in ("energy_truth", "energy_analysed", "energy_top1", "energy_delta")},
                "energy_truth_rich": float(rich.loc[rich["method"] == m, "energy_truth"].mean()),
                "n_rich": int((rich["method"] == m).sum()),
                "goal_avail_median": float(sub.loc[sub["method"] == m, "goal_avail"].median()),
            }
            for m in METHODS
        }
        ours = sub[sub["method"] == "ours"]
        out["energy_by_goal"][goal]["oracle"] = {c: float(ours[f"oracle_{c}"].mean()) for c in ("energy_truth", "energy_top1", "energy_analysed")}
    for m in METHODS:
        sm = sessions[sessions["method"] == m]
        out["sessions"][m] = {"n_sessions": len(sm), "repeats_total": int(sm["repeats"].sum()), **{c: float(sm[c].mean()) for c in sm.columns if c not in ("method", "repeats")}}
    return out


def analysis_accuracy(s: Setup) -> str:
    t = s.rec.engine.table.loc[s.judge.ids]
    cfg = s.rec.config
    tb, ab = s.truth["bpm"].to_numpy(float), t["bpm"].to_numpy(float)
    bpm_ok = np.array([bool(bpm_compatible(x, np.array([y]), cfg.bpm)[0]) for x, y in zip(tb, ab)])
    cam_t, cam_a = s.truth["camelot"].astype(str), t["camelot"]
    exact = np.array([a == b for a, b in zip(cam_a, cam_t)])
    near = np.array([isinstance(a, str) and camelot_distance(a, b) <= 1 for a, b in zip(cam_a, cam_t)])
    unclear = np.mean(t["key_clarity"].to_numpy(float) < cfg.key.min_clarity)
    bpm_err = np.nanmedian(np.abs(ab - tb))
    rho = pd.Series(s.truth["energy_level"].to_numpy(float)).corr(pd.Series(t["energy"].to_numpy(float)), method="spearman")
    return (f"BPM within tolerance {bpm_ok.mean():.1%} (median |error| {bpm_err:.2f} BPM); Camelot exact {exact.mean():.1%}, within 1 {near.mean():.1%}; "
            f"key_clarity < {cfg.key.min_clarity}: {unclear:.1%}; Spearman(energy, truth energy_level) {rho:.2f}")  # fmt: skip


def read_overrides(path: Path) -> dict:
    """Overrides from ``path``: a plain overrides dict, or the best trial of a tuner result."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["trials"][0]["overrides"] if isinstance(data, dict) and "trials" in data else data


def ensure_data(lib: Path, data: Path, n_tracks: int, seed: int) -> None:
    """Generate the demo library and ingest it (dsp backend) unless both are already there."""
    if not (lib / "truth.csv").exists():
        from dj_pipeline.demo import generate_library

        print(f"generating {n_tracks} demo tracks into {lib} (minutes) ...", flush=True)
        generate_library(lib, n_tracks=n_tracks, n_samples=0, seed=seed, workers=0)
    if not (data / "dj.duckdb").exists():
        from dj_pipeline.pipeline import run_ingest

        print(f"ingesting {lib / 'tracks'} into {data} (minutes) ...", flush=True)
        run_ingest(lib / "tracks", data, embedding_backend="dsp", show_progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/tmp/recbench/data", help="ingested data directory")
    ap.add_argument("--lib", default="/tmp/recbench/lib", help="demo library folder with truth.csv")
    ap.add_argument("--tracks", type=int, default=240, help="demo tracks to generate when --lib has no truth.csv")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top-k", type=int, default=10)
    ap.add_argument("--goals", default="maintain,up,down,peak")
    ap.add_argument("--maintain-tol", type=float, default=0.1, help="maintain: |truth energy_level delta| allowed")
    ap.add_argument("--maintain-tol-z", type=float, default=0.5, help="maintain: |analysed z-energy delta| allowed")
    ap.add_argument("--sessions", type=int, default=48, help="number of sessions (start tracks spread over the library)")
    ap.add_argument("--schedule", default="up:5,peak:5,maintain:4,down:5", help="goal:count per transition")
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "results" / "recommend_quality.json"))
    ap.add_argument("--overrides", help="JSON of recommend.yaml overrides, or a recommend_tune.py result (its best trial): judge those weights instead")
    ap.add_argument("--real-data", help="also judge the real dev set ingested into this data dir (bench/recommend_real.py)")
    ap.add_argument("--realset", default=None, help="the extracted real dev set (default $DJ_REALSET or /work/realset)")
    args = ap.parse_args()
    goals = [g.strip() for g in args.goals.split(",") if g.strip()]
    t0 = time.perf_counter()
    ensure_data(Path(args.lib), Path(args.data), args.tracks, args.seed)
    try:
        schedule = parse_schedule(args.schedule)
        s = load_setup(args.data, args.lib)
        if args.overrides:
            s.rec.config = s.rec.engine.config = load_recommend_config(overrides=read_overrides(Path(args.overrides)))
    except (ValueError, RecommendError, OSError) as exc:
        raise SystemExit(f"error: {exc}") from None
    args.session_tracks = len(schedule) + 1
    unknown = [g for g in (*goals, *schedule) if g not in s.rec.config.goals]
    if unknown:
        raise SystemExit(f"unknown goal(s): {', '.join(sorted(set(unknown)))}")
    tol = {"truth": args.maintain_tol, "analysed": args.maintain_tol_z}
    q, failures, latency_s = run_queries(s, goals, args.top_k, tol)
    sessions = run_sessions(s, args.sessions, schedule, args.top_k, args.maintain_tol)
    summary = summarise(q, sessions, args.top_k)
    extra = {"analysis": analysis_accuracy(s), "p50_ms": 1000 * np.percentile(latency_s, 50), "p95_ms": 1000 * np.percentile(latency_s, 95)}
    print_report(s, q, summary, failures, args, extra)
    print(f"\n(ran in {time.perf_counter() - t0:.0f} s)")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    failure_counts = {f"{r.constraint}: {r.reason}": {"picks": int(r.picks), "tracks": int(r.tracks)} for r in failure_table(failures).itertuples(index=False)}
    payload = {"args": {k: v for k, v in vars(args).items()}, "summary": summary, "failures": failure_counts, **extra, "targets": target_lines(summary, args.top_k)}
    out.write_text(json.dumps(payload, indent=1, default=float), encoding="utf-8")
    print(f"JSON: {out}")
    if args.real_data:  # the real crate next to the generated one
        from recommend_real import report

        print("\n" + "=" * 30 + " real dev set " + "=" * 30)
        report(args.real_data, args.realset, args.top_k)


if __name__ == "__main__":
    main()
