"""The truth judge of bench/recommend_quality.py: compatibility by truth labels and the bound
("best possible") that the bench compares the baseline with. The issue's "better than the
baseline on every metric" verdict rests on these numbers, so they are checked by hand here."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.config.recommend import BpmConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from recommend_truth import TruthJudge, goal_met  # noqa: E402


def _judge(rows: list[tuple[str, str, float, str, float]]) -> TruthJudge:
    truth = pd.DataFrame(rows, columns=["track_id", "style", "bpm", "camelot", "energy_level"]).set_index("track_id")
    # half/double time at any tempo (the --half-double rule), so 124 -> 62 counts
    return TruthJudge(truth, BpmConfig(tolerance_bpm=4.0, tolerance_pct=6.0, half_double=True, half_double_band_bpm=()), key_max_distance=1)


def test_compatibility_by_truth_includes_half_time_and_relative_keys():
    j = _judge([("cur", "house", 124, "8A", 0.5), ("half", "hip_hop", 62, "8B", 0.5), ("far", "techno", 140, "8A", 0.5), ("clash", "house", 124, "3A", 0.5)])
    v = j.judge("cur", ["half", "far", "clash"])
    assert v.bpm_ok.tolist() == [True, False, True]
    assert v.key_ok.tolist() == [True, True, False]
    assert v.same_style.tolist() == [False, False, True]
    assert v.bpm_step.tolist() == [0.0, 16.0, 0.0] and v.bpm_step_raw.tolist() == [62.0, 16.0, 0.0]


def test_bound_counts_only_filter_keeping_lists():
    # current house 8A; compatible (BPM+key): 2 house + 3 techno; a house track in a clashing key
    rows = [("cur", "house", 124, "8A", 0.5)]
    rows += [(f"h{i}", "house", 124, "8A", 0.5) for i in range(2)]
    rows += [(f"t{i}", "techno", 126, "9A", 0.9) for i in range(3)]
    rows += [("hx", "house", 124, "2A", 0.5)]
    j = _judge(rows)
    style = j.style_mask("cur")
    # k=3 <= 5 compatible: the list must stay in key, so at most the 2 house tracks
    assert j.oracle_share("cur", style, 3) == (pytest.approx(2 / 3), 1.0)
    # k=6 > 5 compatible: the one open place may take the other-key house track
    assert j.oracle_share("cur", style, 6)[0] == pytest.approx(3 / 6)
    up = j.goal_mask("cur", "up", 0.1)
    assert up.sum() == 3 and j.oracle_share("cur", up, 3) == (1.0, 1.0)
    maintain = j.goal_mask("cur", "maintain", 0.1)
    assert j.oracle_share("cur", maintain, 5)[0] == pytest.approx(2 / 5)  # cur itself never counts


def test_goal_met_directions():
    d = np.array([-0.2, 0.0, 0.05, 0.3])
    assert goal_met("up", d, 0.1).tolist() == [False, False, True, True]
    assert goal_met("down", d, 0.1).tolist() == [True, False, False, False]
    assert goal_met("maintain", d, 0.1).tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match="unknown goal"):
        goal_met("party", d, 0.1)


def _summary(style_ours: float, style_bound: float, top1_ours: float) -> dict:
    """A minimal bench summary: one query group, one goal, sessions; ours wins all but style and top-1."""
    shares = {"bpm": 0.99, "key": 0.95, "both": 0.94, "style": style_ours, "energy_truth": 0.6, "energy_analysed": 0.7, "capped_both": 0.95}
    base = {"bpm": 0.70, "key": 0.20, "both": 0.10, "style": 0.78, "energy_truth": 0.5, "energy_analysed": 0.6, "capped_both": 0.15}
    group = {"ours": {"n_queries": 10, **shares}, "baseline": {"n_queries": 10, **base}, "oracle": {"style": style_bound}}
    energy = {"ours": {"energy_truth": 0.6, "energy_analysed": 0.7, "energy_top1": top1_ours}, "baseline": {"energy_truth": 0.5, "energy_analysed": 0.6, "energy_top1": 0.7}, "oracle": {}}
    sess = {"repeats_total": 0, "key_ok": 0.97, "bpm_ok": 1.0, "both_ok": 0.97, "goal_ok": 0.6, "style_kept": 0.8, "bpm_step": 1.5, "bpm_step_raw": 4.0}
    sess_base = {**sess, "key_ok": 0.12, "bpm_ok": 0.7, "both_ok": 0.1, "goal_ok": 0.5, "style_kept": 0.7, "bpm_step": 5.0, "bpm_step_raw": 5.0}
    return {"queries": {"all": group, ">=10 compat": group}, "energy_by_goal": {"up": energy}, "sessions": {"ours": sess, "baseline": sess_base}}


def test_verdict_separates_the_issues_metrics_from_diagnostics():
    from recommend_report import named_by_issue, target_lines

    assert named_by_issue("all/style") and named_by_issue("energy[up]/energy_truth") and named_by_issue("session/key_ok")
    assert not named_by_issue(">=10 compat/style") and not named_by_issue("energy[up]/energy_top1") and not named_by_issue("session/style_kept")
    # style lost but the baseline is above the bound: the issue verdict fails, marked out of reach
    lines = target_lines(_summary(style_ours=0.60, style_bound=0.66, top1_ours=0.8), 10)
    issue = next(i for i, line in enumerate(lines) if "metric the issue names" in line)
    assert lines[issue].endswith("FAIL on 1") and "out of reach" in lines[issue + 1] and "all/style" in lines[issue + 1]
    assert "can win" in lines[issue + 2] and lines[issue + 2].endswith("PASS")
    # the same loss with a bound above the baseline is a reachable loss: both verdicts fail
    lines = target_lines(_summary(style_ours=0.60, style_bound=0.90, top1_ours=0.8), 10)
    issue = next(i for i, line in enumerate(lines) if "metric the issue names" in line)
    assert lines[issue].endswith("FAIL on 1") and "reachable" in lines[issue + 1]
    assert "can win" in lines[issue + 2] and lines[issue + 2].endswith("FAIL on 1")
    # style won, top-1 lost: the issue verdict passes; the loss is listed as a reachable diagnostic
    lines = target_lines(_summary(style_ours=0.80, style_bound=0.90, top1_ours=0.6), 10)
    issue = next(i for i, line in enumerate(lines) if "metric the issue names" in line)
    assert lines[issue].endswith("PASS")
    assert any("reachable" in line and "energy[up]/energy_top1" in line for line in lines[issue + 1 :])


def test_quality_bench_reads_plain_overrides_and_tuner_results(tmp_path: Path) -> None:
    import json

    from recommend_quality import read_overrides

    plain = {"weights": {"style": 3.0}}
    (tmp_path / "plain.json").write_text(json.dumps(plain))
    tuned = {"args": {}, "trials": [{"trial": 7, "overrides": {"weights": {"style": 9.0}}}, {"trial": 2, "overrides": {}}]}
    (tmp_path / "tuned.json").write_text(json.dumps(tuned))
    assert read_overrides(tmp_path / "plain.json") == plain
    assert read_overrides(tmp_path / "tuned.json") == {"weights": {"style": 9.0}}  # the best trial
