"""Hard filters (BPM with half/double time, Camelot key rules) and the graded key score."""

import numpy as np
import pytest

from dj_pipeline.config.recommend import load_recommend_config
from dj_pipeline.recommend.filters import bpm_compatible, bpm_match, bpm_tolerance, key_compatible, key_relation
from dj_pipeline.recommend.scoring import closeness, key_score

CFG = load_recommend_config()


def test_half_double_time_accepts_62_to_124_and_rejects_124_to_140():
    anywhere = load_recommend_config(overrides={"bpm": {"half_double_band_bpm": []}}).bpm  # when the DJ asks for it
    assert bpm_compatible(62.0, np.array([124.0]), anywhere).tolist() == [True]
    assert bpm_compatible(124.0, np.array([62.0]), anywhere).tolist() == [True]
    assert bpm_compatible(124.0, np.array([140.0]), anywhere).tolist() == [False]
    diff, ratio = bpm_match(62.0, np.array([124.0, 31.0, 61.0]))
    assert diff.tolist() == [0.0, 0.0, 1.0]
    assert ratio.tolist() == [0.5, 2.0, 1.0]


def test_half_double_time_only_where_the_style_calls_for_it():
    # D&B <-> half-time hip-hop passes; 139 BPM techno -> 70 BPM ambient does not (the jump)
    assert bpm_compatible(174.0, np.array([87.0]), CFG.bpm).tolist() == [True]
    assert bpm_compatible(86.0, np.array([172.0]), CFG.bpm).tolist() == [True]
    assert bpm_compatible(138.9, np.array([70.0, 138.0]), CFG.bpm).tolist() == [False, True]
    assert bpm_compatible(70.0, np.array([139.0]), CFG.bpm).tolist() == [False]


def test_half_double_can_be_switched_off():
    strict = load_recommend_config(overrides={"bpm": {"half_double": False}})
    assert bpm_compatible(62.0, np.array([124.0]), strict.bpm).tolist() == [False]


def test_tolerance_is_the_larger_of_absolute_and_percent():
    # 6 % of 124 = 7.44 BPM > 4 BPM; at 60 BPM the 4 BPM floor wins (6 % = 3.6)
    assert bpm_tolerance(124.0, CFG.bpm) == pytest.approx(7.44)
    assert bpm_tolerance(60.0, CFG.bpm) == pytest.approx(4.0)
    assert bpm_compatible(124.0, np.array([131.4, 131.5, 116.6, 116.5]), CFG.bpm).tolist() == [True, False, True, False]
    assert bpm_compatible(60.0, np.array([63.9, 64.5]), CFG.bpm).tolist() == [True, False]
    assert bpm_compatible(124.0, np.array([140.0]), CFG.bpm, scale=2.5).tolist() == [True]


def test_unknown_tempo_rules():
    # unknown current tempo: nothing to compare, all pass; unknown candidate tempo fails
    assert bpm_compatible(float("nan"), np.array([90.0, 170.0]), CFG.bpm).tolist() == [True, True]
    assert bpm_compatible(124.0, np.array([np.nan, 0.0, 124.0]), CFG.bpm).tolist() == [False, False, True]


CODES = np.array(["8A", "9A", "7A", "8B", "10A", "3A", "6A", "9B", None], dtype=object)
CLEAR = np.full(len(CODES), 0.9)


def test_key_rules_same_adjacent_relative():
    ok = key_compatible("8A", 0.9, CODES, CLEAR, CFG.key)
    assert ok.tolist() == [True, True, True, True, False, False, False, False, True]  # None: unknown key passes


def test_energy_boost_moves_only_behind_the_flag_and_upward():
    boost = load_recommend_config(overrides={"key": {"energy_boost": True}})
    ok = key_compatible("8A", 0.9, CODES, CLEAR, boost.key)
    # +2 (10A) and +7 (3A) pass; -2 (6A) is not a boost move; 9B still fails
    assert ok.tolist() == [True, True, True, True, True, True, False, False, True]


def test_low_clarity_bypasses_the_key_filter():
    assert key_compatible("8A", 0.3, np.array(["2B"], dtype=object), np.array([0.9]), CFG.key).tolist() == [True]
    assert key_compatible("8A", 0.9, np.array(["2B"], dtype=object), np.array([0.2]), CFG.key).tolist() == [True]
    assert key_compatible("8A", 0.9, np.array(["2B"], dtype=object), np.array([np.nan]), CFG.key).tolist() == [True]
    assert key_compatible("8A", 0.9, np.array(["2B"], dtype=object), np.array([0.9]), CFG.key).tolist() == [False]


def test_key_relation_distance_and_steps():
    dist, steps = key_relation("12A", np.array(["1A", "2A", "12B", "garbage"], dtype=object))
    assert dist.tolist() == [1, 2, 1, -1]
    assert steps.tolist() == [1, 2, -1, -1]


def test_key_score_is_graded_by_distance_and_clarity():
    dist = np.array([0, 1, 2, 5, -1])
    full = key_score(dist, np.zeros(5, dtype=bool), np.ones(5), CFG.key)
    assert full[0] > full[1] > full[2] > full[3]
    assert full[4] == pytest.approx(CFG.key.neutral_score)
    unclear = key_score(dist, np.zeros(5, dtype=bool), np.zeros(5), CFG.key)
    assert np.allclose(unclear, CFG.key.neutral_score)


def test_closeness_kernel():
    c = closeness(np.array([0.0, 1.0, -1.0, 3.0]), 1.0)
    assert c[0] == 1.0 and c[1] == pytest.approx(np.exp(-0.5)) and c[1] == c[2] and c[3] < 0.02


def test_integer_key_table_agrees_with_camelot_distance_on_every_pair():
    from dj_pipeline.music.keys import camelot_distance
    from dj_pipeline.recommend.filters import CAMELOT_CODES, camelot_index, key_relation_index

    idx = camelot_index(list(CAMELOT_CODES))
    assert idx.tolist() == list(range(24))
    for a in CAMELOT_CODES:
        dist, _ = key_relation_index(int(camelot_index([a])[0]), idx)
        assert dist.tolist() == [camelot_distance(a, b) for b in CAMELOT_CODES]
    # written differently, the same code; unknown or unparsable codes are -1 on either side
    assert camelot_index([" 8a", "08A", "13A", "", None, float("nan")]).tolist() == [14, 14, -1, -1, -1, -1]
    dist, steps = key_relation_index(-1, idx[:3])
    assert dist.tolist() == [-1, -1, -1] and steps.tolist() == [-1, -1, -1]
