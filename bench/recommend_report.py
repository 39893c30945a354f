"""The printed report of ``bench/recommend_quality.py``: tables, the target verdict, and the
metric-by-metric comparison (ours vs baseline vs the bound) that ``recommend_tune.py`` scores."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from recommend_quality import Setup

SHARE_METRICS = ("bpm", "key", "both", "style", "energy_truth", "energy_analysed")
SESSION_HIGHER = ("key_ok", "bpm_ok", "both_ok", "goal_ok", "style_kept")  # session metrics where higher is better
SESSION_LOWER = ("bpm_step", "bpm_step_raw")  # ... and where lower is better


def fmt_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def failure_table(failures: list[tuple[str, str, str]]) -> pd.DataFrame:
    """Count and distinct picked tracks per (constraint, reason), most frequent first."""
    if not failures:
        return pd.DataFrame(columns=["constraint", "reason", "picks", "tracks"])
    f = pd.DataFrame(failures, columns=["constraint", "reason", "pick"])
    g = f.groupby(["constraint", "reason"]).agg(picks=("pick", "size"), tracks=("pick", "nunique")).reset_index()
    return g.sort_values("picks", ascending=False, kind="stable")


def print_report(s: Setup, q: pd.DataFrame, summary: dict, failures: list[tuple[str, str, str]], args: argparse.Namespace, extra: dict) -> None:
    k = args.top_k
    ours_q = q[q["method"] == "ours"]
    a = ours_q.drop_duplicates("current")
    print(f"library: {len(s.judge.ids)} tracks with truth ({s.truth['style'].nunique()} styles); data {args.data}; truth {args.lib}/truth.csv")
    print(f"queries: {len(ours_q)} = tracks x goals {args.goals}; top-{k}; baseline: SimilarityBundle, {s.bundle_source}")
    print(f"analysis vs truth (context): {extra['analysis']}")
    print(
        "truth-compatible candidates per current track (median): "
        f"BPM {a['avail_bpm'].median():.0f}, key {a['avail_key'].median():.0f}, both {a['avail_both'].median():.0f}, "
        f"both and same style {a['avail_style'].median():.0f}; tracks with >= {k} both: {np.mean(a['avail_both'] >= k):.0%}, "
        f"with none: {np.mean(a['avail_both'] == 0):.0%}"
    )
    print("\nTop-k shares by truth (ours | baseline)")
    print(fmt_table(["metric", "queries", "n", "ours", "baseline", "best possible", "ours better"], share_rows(summary)))
    print("(best possible: the mean over queries of the best share any top-k list reaches when it keeps to truth BPM- and\n"
          " key-compatible tracks, filled with other-key BPM-compatible tracks only where fewer than k exist)")
    print(f"\nEnergy goal adherence: share of top-{k} in the goal's direction (maintain: |delta| <= {args.maintain_tol} truth, "
          f"<= {args.maintain_tol_z} z analysed), top-1 alone, and the mean truth energy delta")  # fmt: skip
    print(fmt_table(["goal", "truth ours", "truth base", "truth best", "top-1 ours", "top-1 base", "top-1 best", "analysed ours",
                     "analysed base", "analysed best", "dE ours", "dE base", "avail"], energy_rows(summary)))  # fmt: skip
    print("(best: the bound under the strict filters, as above; avail: median count of truth BPM+key-compatible candidates in the goal's direction)")
    print(f"\nSessions: {args.session_tracks} tracks, top pick each step, goals {args.schedule}")
    ss = summary["sessions"]
    print(fmt_table(["metric", "ours", "baseline"], [[c, f"{ss['ours'][c]:.3f}", f"{ss['baseline'][c]:.3f}"] for c in ("length", "repeats_total", *SESSION_HIGHER, *SESSION_LOWER)]))
    print(f"\nOur truth-incompatible picks ({sum(ours_q['n'])} picks in all):")
    for r in failure_table(failures).itertuples(index=False):
        print(f"  {r.constraint:4s} {r.picks:5d} picks of {r.tracks:3d} distinct tracks  {r.reason}")
    print(f"  results with a relaxed constraint: {int(ours_q['relaxed'].sum())}; queries with any: {np.mean(ours_q['relaxed'] > 0):.1%}")
    print(f"\nlatency of recommend() in this run: p50 {extra['p50_ms']:.1f} ms, p95 {extra['p95_ms']:.1f} ms")
    print("\nTargets:")
    for line in target_lines(summary, k):
        print("  " + line)


def share_rows(summary: dict) -> list[list[str]]:
    rows = []
    for gname, per in summary["queries"].items():
        for c in (*SHARE_METRICS, "capped_both"):
            o, b = per["ours"][c], per["baseline"][c]
            rows.append([c, gname, str(per["ours"]["n_queries"]), f"{o:.3f}", f"{b:.3f}", _fmt_bound(per["oracle"].get(c)), _better(o, b)])
    return rows


def energy_rows(summary: dict) -> list[list[str]]:
    rows = []
    for goal, v in summary["energy_by_goal"].items():
        o, b, best = v["ours"], v["baseline"], v["oracle"]
        triples = [x for c in ("energy_truth", "energy_top1", "energy_analysed") for x in (f"{o[c]:.3f}", f"{b[c]:.3f}", _fmt_bound(best[c]))]
        rows.append([goal, *triples, f"{o['energy_delta']:+.3f}", f"{b['energy_delta']:+.3f}", f"{o['goal_avail_median']:.0f}"])
    return rows


def _fmt_bound(value: float | None) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.3f}"


def _better(ours: float, base: float) -> str:
    if not (np.isfinite(ours) and np.isfinite(base)):
        return "-"
    return "yes" if ours > base + 1e-9 else ("tie" if abs(ours - base) <= 1e-9 else "NO")


def comparisons(summary: dict) -> list[tuple[str, float, float, float | None]]:
    """Every (metric, ours, baseline, bound) pair, oriented so that higher is better; ``bound``
    is the best any list obeying the strict filters can reach (None where not computed)."""
    out = []
    for gn, per in summary["queries"].items():
        if per["ours"]["n_queries"]:
            out += [(f"{gn}/{c}", per["ours"][c], per["baseline"][c], per["oracle"].get(c)) for c in (*SHARE_METRICS, "capped_both")]
    for goal, v in summary["energy_by_goal"].items():
        out += [(f"energy[{goal}]/{c}", v["ours"][c], v["baseline"][c], v["oracle"].get(c)) for c in ("energy_truth", "energy_analysed", "energy_top1")]
    ss = summary["sessions"]
    out += [(f"session/{c}", ss["ours"][c], ss["baseline"][c], None) for c in SESSION_HIGHER]
    out += [(f"session/{c}", -ss["ours"][c], -ss["baseline"][c], None) for c in SESSION_LOWER]
    return out


def named_by_issue(metric: str) -> bool:
    """Whether a :func:`comparisons` metric is one the issue names for "better than the baseline":
    top-k BPM/key/style shares and energy-goal adherence (truth) over all queries, adherence per
    goal, and the session BPM step and key-compatible transitions. The rest (top-1, subgroups,
    analysed energy, session style and goal) are diagnostics this bench adds."""
    group, _, name = metric.partition("/")
    if group == "all":
        return name in ("bpm", "key", "style", "energy_truth")
    if group.startswith("energy["):
        return name == "energy_truth"
    return group == "session" and name in ("key_ok", "bpm_step", "bpm_step_raw")


def _reachable(bound: float | None, base: float) -> bool:
    """A loss is out of reach when the bound under the strict filters is at or below the baseline."""
    return not (bound is not None and np.isfinite(bound) and base >= bound)


def _loss_lines(worse: list[tuple[str, float, float, float | None]]) -> list[str]:
    open_ = [f"{n} (ours {abs(o):.3f}, baseline {abs(b):.3f})" for n, o, b, bound in worse if _reachable(bound, b)]
    bounded = [f"{n} (ours {o:.3f}, baseline {b:.3f}, best possible {bound:.3f})" for n, o, b, bound in worse if not _reachable(bound, b)]
    lines = []
    if open_:
        lines.append("  not better, and reachable under the strict filters: " + "; ".join(open_))
    if bounded:
        lines.append("  not better, and out of reach for ANY list that keeps the key/BPM filters (the baseline exceeds the bound): " + "; ".join(bounded))
    return lines


def target_lines(summary: dict, k: int) -> list[str]:
    """The issue's targets with PASS/FAIL, then the diagnostics where ours is not better."""
    g = summary["queries"][f">={k} compat"]["ours"]
    verdict = lambda v, lim: "n/a: no such queries" if g["n_queries"] == 0 else ("PASS" if v >= lim else "FAIL")  # noqa: E731
    lines = [
        f"BPM-compatible top-{k} where >= {k} compatible exist ({g['n_queries']} queries): {g['bpm']:.3f} (>= 0.95: {verdict(g['bpm'], 0.95)})",
        f"key-compatible top-{k} where >= {k} compatible exist ({g['n_queries']} queries): {g['key']:.3f} (>= 0.90: {verdict(g['key'], 0.90)})",
        f"session repeats: {summary['sessions']['ours']['repeats_total']} (must be 0: {'PASS' if summary['sessions']['ours']['repeats_total'] == 0 else 'FAIL'})",
    ]
    rows = comparisons(summary)
    named = [r for r in rows if named_by_issue(r[0])]
    worse = [r for r in named if _better(r[1], r[2]) != "yes"]
    lines.append(f"better than baseline on every metric the issue names ({len(named)}): " + ("PASS" if not worse else f"FAIL on {len(worse)}"))
    lines += _loss_lines(worse)
    if worse:  # the hard filters can make a metric unwinnable: say whether every winnable one is won
        reachable = [r for r in named if _reachable(r[3], r[2])]
        lost = [r for r in reachable if _better(r[1], r[2]) != "yes"]
        lines.append(f"  ... on every one of them a list keeping the key/BPM filters can win ({len(reachable)}): " + ("PASS" if not lost else f"FAIL on {len(lost)}"))
    diag = [r for r in rows if not named_by_issue(r[0])]
    diag_worse = [r for r in diag if _better(r[1], r[2]) != "yes"]
    lines.append(f"diagnostics (this bench's own breakdowns, {len(diag)}): ours better on {len(diag) - len(diag_worse)}")
    lines += _loss_lines(diag_worse)
    return lines
