"""The pure engine: history exclusion, goals, relaxation order and marking, components, errors."""

import json

import numpy as np
import pytest

from dj_pipeline.config.recommend import load_recommend_config
from dj_pipeline.index.style import style_vectors
from dj_pipeline.recommend import EmptyLibraryError, RecommendError, UnknownTrackError, results_to_json
from dj_pipeline.recommend.engine import RecommendationEngine
from dj_pipeline.recommend.synthetic import clustered_library, library_from_rows
from dj_pipeline.recommend.vectors import ArrayIndex, VectorTable

CFG = load_recommend_config()


def _row(track_id, **kw):
    return {"track_id": track_id, **kw}


def test_history_and_current_are_never_recommended():
    lib = clustered_library(120, seed=1)
    engine = lib.engine()
    history = ["t00001", "t00002", "t00003"]
    res = engine.recommend("t00000", top_k=117, history=history)
    ids = [r["track_id"] for r in res]
    assert "t00000" not in ids and not set(history) & set(ids)
    assert len(ids) == len(set(ids)) == 116  # all other tracks, relaxed ones included


def test_score_is_the_weighted_sum_of_its_components():
    lib = clustered_library(80, seed=2)
    res = lib.engine().recommend("t00005", goal="up", top_k=10)
    w = CFG.weights_for("up").as_dict()
    for r in res:
        assert set(r["components"]) == {"similarity", "style", "tempo", "energy_goal", "low_end", "mixability", "key", "hype", "diversity", "variation"}
        assert r["score"] == pytest.approx(sum(w[k] * v for k, v in r["components"].items()))
        assert r["contributions"] == pytest.approx({k: w[k] * v for k, v in r["components"].items()})
        assert set(r["lift"]) == set(r["contributions"])
    # lift = contribution minus its mean over the scored candidates: the best pick stands out the most
    lifts = [sum(r["lift"].values()) for r in res if not r["relaxed"]]
    assert lifts == sorted(lifts, reverse=True) and lifts[0] > 0
    gap = res[0]["score"] - res[1]["score"]
    assert sum(res[0]["lift"].values()) - sum(res[1]["lift"].values()) == pytest.approx(gap)
    strict = [r["score"] for r in res if not r["relaxed"]]
    assert strict == sorted(strict, reverse=True)
    json.loads(results_to_json(res))  # JSON-clean (no NaN)


def _energy_library():
    energies = {"cur": 0.5, "e10": 0.1, "e30": 0.3, "e50": 0.5, "e70": 0.7, "e90": 0.9}
    # louder with more energy, as in real masters: the goals move along energy and loudness together
    rows = [_row(t, energy=e, loudness_lufs=-20.0 + 16.0 * e) for t, e in energies.items()]
    return library_from_rows(rows, same_vectors=True), energies


@pytest.mark.parametrize("goal", ["maintain", "up", "down", "peak"])
def test_energy_goal_moves_energy_in_its_direction(goal):
    lib, energies = _energy_library()
    engine = lib.engine()
    res = engine.recommend("cur", goal=goal, top_k=5)
    # the track whose energy change (library z of energy and loudness) is nearest the goal's target
    w = CFG.scoring.energy_columns
    t = engine.table
    delta = {i: sum(w[c] * (t.at[i, f"z_{c}"] - t.at["cur", f"z_{c}"]) for c in w) / sum(w.values()) for i in energies if i != "cur"}
    expected = min(delta, key=lambda i: abs(delta[i] - CFG.goal(goal).energy_delta))
    assert res[0]["track_id"] == expected
    direction = {"maintain": 0, "up": 1, "down": -1, "peak": 1}[goal]
    assert np.sign(round(energies[expected] - energies["cur"], 6)) == direction
    assert res[0]["components"]["energy_goal"] == max(r["components"]["energy_goal"] for r in res) > 0.5


def test_up_and_down_rank_the_extremes_oppositely():
    lib, _ = _energy_library()
    engine = lib.engine()
    rank = {g: [r["track_id"] for r in engine.recommend("cur", goal=g, top_k=5)] for g in ("up", "down", "peak")}
    assert rank["up"].index("e90") < rank["up"].index("e10")
    assert rank["down"].index("e10") < rank["down"].index("e90")
    assert rank["peak"].index("e90") < rank["up"].index("e90")
    hype = {g: {r["track_id"]: r["components"]["hype"] for r in engine.recommend("cur", goal=g, top_k=5)} for g in ("maintain", "up", "down")}
    assert set(hype["maintain"].values()) == {0.0}
    assert hype["up"]["e90"] > 0.0 > hype["up"]["e10"]
    assert hype["down"]["e10"] > 0.0 > hype["down"]["e90"]


def _relaxation_library():
    rows = [
        _row("cur", bpm=124.0, key_root=9, key_mode="minor", key_clarity=0.9),  # 8A
        _row("strict", bpm=124.0, key_root=4, key_mode="minor", key_clarity=0.9),  # 9A
        _row("key1", bpm=125.0, key_root=3, key_mode="major", key_clarity=0.9),  # 5B: key fails
        _row("key2", bpm=123.0, key_root=3, key_mode="major", key_clarity=0.9),
        _row("bpmwide", bpm=135.0, key_root=9, key_mode="minor", key_clarity=0.9),  # +11 BPM: 2x tolerance
        _row("both", bpm=135.0, key_root=3, key_mode="major", key_clarity=0.9),
        _row("far", bpm=170.0, key_root=9, key_mode="minor", key_clarity=0.9),  # only without BPM filter
    ]
    lib = library_from_rows(rows, seed=3)
    ids = lib.intro.ids
    query = lib.outro.vectors[ids.index("cur")]
    # make the relaxed candidates the most similar, so only the tiering keeps them below
    lib.intro.vectors[ids.index("bpmwide")] = query
    lib.intro.vectors[ids.index("far")] = query
    lib.intro.vectors[ids.index("strict")] = -query
    return lib


def test_relaxation_goes_key_first_then_bpm_and_marks_results():
    engine = _relaxation_library().engine()
    one = engine.recommend("cur", top_k=1)
    assert [(r["track_id"], r["relaxed"]) for r in one] == [("strict", [])]
    three = engine.recommend("cur", top_k=3)
    assert three[0]["track_id"] == "strict"
    assert {r["track_id"] for r in three[1:]} == {"key1", "key2"}
    assert all(r["relaxed"] == ["key"] for r in three[1:])
    everything = engine.recommend("cur", top_k=10)
    ids = [r["track_id"] for r in everything]
    assert ids[0] == "strict" and set(ids[1:3]) == {"key1", "key2"}
    assert set(ids[3:5]) == {"bpmwide", "both"} and ids[5] == "far"
    marks = {r["track_id"]: r["relaxed"] for r in everything}
    assert marks["bpmwide"] == ["bpm"] and marks["both"] == ["key", "bpm"] and marks["far"] == ["bpm"]
    # the relaxed ones really score higher on similarity: the tiering, not the score, ranks them
    assert everything[-1]["components"]["similarity"] > everything[0]["components"]["similarity"]


def test_diversity_floor_spares_tracks_that_are_only_alike():
    from dj_pipeline.recommend.scoring import repetition

    assert repetition(np.array([0.2, 0.75, 0.875, 1.0]), 0.75).tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])
    assert repetition(np.array([0.3, 1.0]), 0.0).tolist() == pytest.approx([0.3, 1.0])  # floor 0: the plain penalty
    lib = library_from_rows([_row(f"x{i}") for i in range(8)], seed=4)
    lib.track.vectors[lib.track.ids.index("x5")] = lib.track.vectors[lib.track.ids.index("x1")]
    floored = load_recommend_config(overrides={"scoring": {"diversity_floor": 0.9}})
    res = {r["track_id"]: r for r in lib.engine(floored).recommend("x0", top_k=10, history=["x1"])}
    assert res["x5"]["components"]["diversity"] == pytest.approx(-1.0, abs=1e-5)  # a copy is still a copy
    assert all(r["components"]["diversity"] == 0.0 for t, r in res.items() if t != "x5")  # random vectors: far below 0.9


def test_diversity_penalises_a_copy_of_a_recent_track():
    lib = library_from_rows([_row(f"x{i}") for i in range(8)], seed=4)
    lib.track.vectors[lib.track.ids.index("x5")] = lib.track.vectors[lib.track.ids.index("x1")]
    lib.track.vectors[lib.track.ids.index("x6")] = lib.track.vectors[lib.track.ids.index("x0")]
    engine = lib.engine()
    res = {r["track_id"]: r for r in engine.recommend("x0", top_k=10, history=["x1"])}
    assert res["x5"]["components"]["diversity"] == pytest.approx(-1.0, abs=1e-6)
    # only tracks played before the current one count; closeness to the current is "similarity"
    assert all(r["components"]["diversity"] > -0.999 for t, r in res.items() if t != "x5")
    assert {r["components"]["diversity"] for r in engine.recommend("x0", top_k=10)} == {0.0}


def test_missing_features_never_produce_nan():
    rows = [_row("cur"), _row("a"), _row("b", energy=np.nan, intro_mix=np.nan, key_clarity=np.nan, camelot=None, bpm=np.nan)]
    res = library_from_rows(rows, seed=5).engine().recommend("cur", top_k=5)
    assert {r["track_id"] for r in res} == {"a", "b"}
    b = next(r for r in res if r["track_id"] == "b")
    assert b["bpm"] is None and b["relaxed"] == ["bpm"]
    assert all(np.isfinite(v) for r in res for v in r["components"].values())
    json.loads(results_to_json(res))


def test_results_carry_the_interface_fields():
    res = clustered_library(30, seed=6).engine().recommend("t00000", top_k=3)
    need = {"track_id", "path", "score", "bpm", "key", "camelot", "energy", "components", "relaxed", "artist", "title"}
    assert all(need <= set(r) for r in res)
    assert res[0]["path"].startswith("/music/") and res[0]["camelot"][-1] in "AB"


def test_clear_errors():
    lib = clustered_library(10, seed=7)
    engine = lib.engine()
    with pytest.raises(UnknownTrackError, match="unknown track"):
        engine.recommend("nope")
    with pytest.raises(RecommendError, match="unknown goal"):
        engine.recommend("t00000", goal="party")
    with pytest.raises(RecommendError, match="top_k"):
        engine.recommend("t00000", top_k=0)
    with pytest.raises(EmptyLibraryError):
        RecommendationEngine(lib.features.iloc[0:0], lib.intro, lib.outro, lib.track)
    empty = ArrayIndex([], np.zeros((0, 32), dtype=np.float32))
    with pytest.raises(EmptyLibraryError):
        RecommendationEngine(lib.features, empty, lib.outro, lib.track)


def test_candidate_k_bounds_the_search():
    lib = clustered_library(300, seed=8)
    small = load_recommend_config(overrides={"candidate_k": 5, "min_strict_candidates": 0})
    res = lib.engine(small).recommend("t00000", top_k=50)
    assert len(res) == 5


def test_too_few_strict_neighbours_widen_the_search_before_relaxing():
    lib = clustered_library(300, seed=8)
    engine = lib.engine()
    cur = lib.features.set_index("track_id").loc["t00000"]
    key_ok, bpm_ok = engine._filters(engine.current_from_library("t00000"), np.arange(len(engine.table)))
    strict_ids = set(engine.table.index[key_ok & bpm_ok]) - {"t00000"}
    assert len(strict_ids) >= 10, f"fixture: {len(strict_ids)} strict tracks after {cur['camelot']} {cur['bpm']:.0f} BPM"
    # the goal's energy window wide open: this test is about the BPM and key filters
    narrow = load_recommend_config(overrides={"candidate_k": 5, "min_strict_candidates": 0, "energy": {"maintain_levels": 10}})
    without = lib.engine(narrow).recommend("t00000", top_k=10)
    assert any(r["relaxed"] for r in without)  # 5 neighbours: the key and BPM filters have to give way
    widened = load_recommend_config(overrides={"candidate_k": 5, "min_strict_candidates": 10, "energy": {"maintain_levels": 10}})
    res = lib.engine(widened).recommend("t00000", top_k=10)
    assert len(res) == 10 and not any({"key", "bpm"} & set(r["relaxed"]) for r in res)
    assert {r["track_id"] for r in res} <= strict_ids
    # the added tracks are the strict ones whose intros are nearest the current outro
    sims = {r["track_id"]: r["components"]["similarity"] for r in res}
    q = lib.outro.get("t00000")
    exact = sorted(strict_ids, key=lambda t: -float(lib.intro.get(t) @ q))
    assert set(exact[:5]) <= set(sims) | {r["track_id"] for r in without}
    for t, sim in sims.items():
        assert sim == pytest.approx(float(lib.intro.get(t) @ q), abs=1e-5)


def test_widening_never_brings_back_history():
    lib = clustered_library(300, seed=8)
    widened = load_recommend_config(overrides={"candidate_k": 5, "min_strict_candidates": 10})
    engine = lib.engine(widened)
    first = [r["track_id"] for r in engine.recommend("t00000", top_k=10)]
    again = [r["track_id"] for r in engine.recommend("t00000", top_k=10, history=first)]
    assert not set(first) & set(again)


def test_external_current_track_uses_library_statistics():
    lib = clustered_library(60, seed=9)
    engine = lib.engine()
    feats = lib.features.iloc[3].to_dict()
    cur = engine.current_from_features(feats, lib.outro.vectors[3], lib.track.vectors[3], path="/elsewhere/x.mp3")
    assert cur.track_id is None
    assert cur.features["z_energy"] == pytest.approx(engine.table.loc["t00003", "z_energy"])
    from_file = engine.recommend(cur, top_k=5)
    from_lib = engine.recommend("t00003", top_k=6)
    # same audio: same candidates, except the outside copy may be followed by the library copy;
    # its style vector is extended from its library neighbours, so near-ties may swap further down
    outside = [r for r in from_file if r["track_id"] != "t00003"]
    assert [r["track_id"] for r in outside][:1] == [r["track_id"] for r in from_lib][:1]
    assert len({r["track_id"] for r in outside[:4]} & {r["track_id"] for r in from_lib[:5]}) >= 3
    # its style vector is nearer the library copy's than any other track's
    nearest = np.argmax(engine.style.vectors @ engine._style_vector(cur))
    assert engine.style.ids[nearest] == "t00003"


def test_style_term_is_the_cosine_of_the_style_vectors():
    lib = clustered_library(80, seed=3)
    engine = lib.engine()
    expected = style_vectors(lib.track.vectors, engine.style_config)
    assert engine.style.vectors == pytest.approx(expected, abs=1e-6)
    me = engine.style.row("t00007")
    for r in engine.recommend("t00007", top_k=5):
        cand = engine.style.row(r["track_id"])
        assert r["components"]["style"] == pytest.approx(float(expected[cand] @ expected[me]), abs=1e-5)


def test_style_vectors_given_to_the_engine_are_used_unless_stale():
    lib = clustered_library(80, seed=3)
    rng = np.random.default_rng(0)
    given = rng.normal(size=lib.track.vectors.shape).astype(np.float32)
    given /= np.linalg.norm(given, axis=1, keepdims=True)
    engine = lib.engine(style_vectors=VectorTable(lib.track.ids, given))
    assert engine.style.vectors == pytest.approx(given)
    # vectors for other tracks than the library's (a stale index) are diffused again instead
    stale = lib.engine(style_vectors=VectorTable(lib.track.ids[:-1], given[:-1]))
    assert stale.style.vectors == pytest.approx(style_vectors(lib.track.vectors, stale.style_config), abs=1e-6)


def test_style_groups_tracks_of_one_style_more_tightly_than_their_raw_vectors():
    # the point of diffusing: for each track, more of its nearest tracks share its style
    lib = clustered_library(400, dim=32, n_styles=8, seed=11)
    raw = lib.track.vectors.astype(np.float64)
    diffused = style_vectors(lib.track.vectors).astype(np.float64)

    def same_style_share(v: np.ndarray) -> float:
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        top = np.argsort(-sims, axis=1)[:, :20]
        return float(np.mean(lib.style[top] == lib.style[:, None]))

    assert same_style_share(diffused) > same_style_share(raw) + 0.1  # 0.50 -> 0.68 here


def test_maintain_uses_its_own_tighter_energy_window():
    cfg = load_recommend_config()
    assert set(cfg.scoring.energy_columns) == {"energy", "loudness_lufs"}
    assert cfg.goal("maintain").energy_width_z < cfg.scoring.energy_width_z
    lib = clustered_library(80, seed=4)
    engine = lib.engine()
    cur = engine.current_from_library("t00003")
    for r in engine.recommend("t00003", goal="maintain", top_k=5):
        row = engine.table.loc[r["track_id"]]
        w = cfg.scoring.energy_columns
        delta = sum(w[c] * (row[f"z_{c}"] - cur.features[f"z_{c}"]) for c in w) / sum(w.values())
        expected = np.exp(-0.5 * (delta / cfg.goal("maintain").energy_width_z) ** 2)
        assert r["components"]["energy_goal"] == pytest.approx(expected, abs=1e-6)


def test_a_change_of_loudness_counts_towards_the_energy_goal():
    # "up" prefers the louder of two tracks with the same energy score, "maintain" the level one
    # same energy score, one candidate 2 LU louder; the other tracks (another tempo) spread the
    # library's loudness so that 2 LU is a modest step in z
    rows = [_row("cur", loudness_lufs=-12.0), _row("level", loudness_lufs=-12.0), _row("louder", loudness_lufs=-10.0)]
    rows += [_row(f"far{i}", bpm=170.0, loudness_lufs=v) for i, v in enumerate((-18.0, -15.0, -6.0, -3.0))]
    engine = library_from_rows(rows, same_vectors=True).engine()
    assert [r["track_id"] for r in engine.recommend("cur", goal="up", top_k=2)] == ["louder", "level"]
    assert [r["track_id"] for r in engine.recommend("cur", goal="maintain", top_k=2)] == ["level", "louder"]
    only_score = load_recommend_config(overrides={"scoring": {"energy_columns": {"energy": 1.0, "loudness_lufs": 0.0}}})
    res = library_from_rows(rows, same_vectors=True).engine(only_score).recommend("cur", goal="up", top_k=2)
    assert res[0]["components"]["energy_goal"] == pytest.approx(res[1]["components"]["energy_goal"])  # loudness ignored: a tie


def test_tempo_prefers_a_small_change_at_the_same_time_feel():
    cfg = load_recommend_config(overrides={"weights": {"tempo": 5.0}})
    rows = [_row("cur", bpm=174.0), _row("same", bpm=174.5), _row("half", bpm=87.0), _row("pitched", bpm=178.0)]
    lib = library_from_rows(rows, same_vectors=True)
    res = {r["track_id"]: r for r in lib.engine(cfg).recommend("cur", top_k=3)}
    s = cfg.scoring
    expected = {
        "same": np.exp(-0.5 * (0.5 / 174 * 100 / s.tempo_width_pct) ** 2),
        "half": s.half_double_score,  # exact half time (D&B -> hip-hop): full closeness, scaled for the change of feel
        "pitched": np.exp(-0.5 * (4.0 / 174 * 100 / s.tempo_width_pct) ** 2),
    }
    for tid, value in expected.items():
        assert res[tid]["components"]["tempo"] == pytest.approx(value, abs=1e-9)
    assert next(iter(res)) == "same"
    assert res["half"]["components"]["tempo"] < res["same"]["components"]["tempo"]


def test_goal_weight_overrides_apply_to_that_goal_only():
    cfg = load_recommend_config(overrides={"weights": {"energy_goal": 1.0}, "goals": {"maintain": {"weights": {"energy_goal": 4.0}}}})
    assert cfg.weights_for("maintain").energy_goal == 4.0 and cfg.weights_for("up").energy_goal == 1.0
    lib = clustered_library(60, seed=5)
    for goal, weight in (("maintain", 4.0), ("up", 1.0)):
        for r in lib.engine(cfg).recommend("t00002", goal=goal, top_k=5):
            w = cfg.weights_for(goal).as_dict()
            assert w["energy_goal"] == weight
            assert r["score"] == pytest.approx(sum(w[k] * v for k, v in r["components"].items()))
