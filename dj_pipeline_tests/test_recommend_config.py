"""recommend.yaml loads into typed config; typos and inconsistent goals are refused."""

import pytest

from dj_pipeline.config.recommend import load_recommend_config


def test_defaults_match_the_issue():
    cfg = load_recommend_config()
    assert cfg.candidate_k == 200 and cfg.bpm.tolerance_bpm == 4.0 and cfg.bpm.tolerance_pct == 6.0
    assert cfg.bpm.half_double and not cfg.key.energy_boost and cfg.scoring.diversity_last_n == 8
    assert [s.name for s in cfg.relaxation] == ["key", "bpm", "bpm_off"]
    assert set(cfg.goals) == {"maintain", "up", "down", "peak"}
    assert cfg.goals["up"].energy_delta > 0 > cfg.goals["down"].energy_delta
    assert cfg.goals["peak"].energy_delta > cfg.goals["up"].energy_delta


def test_overrides_and_guards():
    cfg = load_recommend_config(overrides={"weights": {"key": 2.0}, "bpm": {"tolerance_pct": 3.0}})
    assert cfg.weights.key == 2.0 and cfg.bpm.tolerance_pct == 3.0
    with pytest.raises(ValueError, match="unknown Weights option"):
        load_recommend_config(overrides={"weights": {"simlarity": 1.0}})
    with pytest.raises(ValueError, match="default_goal"):
        load_recommend_config(overrides={"default_goal": "party"})
    with pytest.raises(ValueError, match="unknown goal"):
        load_recommend_config(overrides={"phase_goals": {"afterhours": "chill"}})
    with pytest.raises(ValueError, match="unknown goal"):
        load_recommend_config().goal("party")
    with pytest.raises(ValueError, match="unknown weight"):
        load_recommend_config(overrides={"goals": {"up": {"weights": {"energy": 2.0}}}})


def test_a_retired_option_warns_instead_of_failing():
    with pytest.warns(DeprecationWarning, match="style_expansion_k"):
        cfg = load_recommend_config(overrides={"scoring": {"style_expansion_k": 10}})
    assert not hasattr(cfg.scoring, "style_expansion_k")
    with pytest.raises(ValueError, match="unknown ScoringConfig option"):  # a typo still fails
        load_recommend_config(overrides={"scoring": {"style_expansion": 10}})
