"""SessionRecommender: persistence across instances, feedback log, set plans, M3U8, errors."""

import json

import pytest

from dj_pipeline.config.recommend import load_recommend_config
from dj_pipeline.query import Recommender, SessionRecommender
from dj_pipeline.recommend import RecommendError, UnknownTrackError
from dj_pipeline.recommend.plan import parse_set_plan
from dj_pipeline.recommend.synthetic import clustered_library

CFG = load_recommend_config()


@pytest.fixture(scope="module")
def library():
    return clustered_library(150, seed=11)


@pytest.fixture
def rec(library, tmp_path):
    return Recommender(data_dir=tmp_path, engine=library.engine())


def test_history_survives_a_restart_and_is_excluded(rec):
    s1 = SessionRecommender(session="friday", recommender=rec)
    recs = s1.next(current="t00000", goal="up", top_k=5)
    s1.add_played(recs[0]["track_id"])
    s1.add_played("/music/t00042.mp3")  # a library path works as well as an id
    played = [p["track_id"] for p in s1.played]
    assert played == ["t00000", recs[0]["track_id"], "t00042"]

    s2 = SessionRecommender(session="friday", recommender=rec)  # "after a restart"
    assert [p["track_id"] for p in s2.played] == played
    nxt = s2.next(top_k=40)  # current = last played
    assert not {r["track_id"] for r in nxt} & set(played)
    assert SessionRecommender(session="other", recommender=rec).played == []


def test_next_with_the_same_current_does_not_duplicate(rec):
    s = SessionRecommender(session="dup", recommender=rec)
    s.next(current="t00001")
    s.next(current="t00001")
    assert [p["track_id"] for p in s.played] == ["t00001"]


def test_choices_are_logged_as_feedback(rec, tmp_path):
    s = SessionRecommender(session="fb", recommender=rec)
    recs = s.next(current="t00003", top_k=6)
    s.add_played(recs[2]["track_id"])
    s.add_played("t00099")  # nothing was shown for this step: no feedback line
    lines = [json.loads(x) for x in (tmp_path / "sessions" / "feedback.jsonl").read_text().splitlines()]
    assert len(lines) == 1
    assert lines[0]["from"] == "t00003" and lines[0]["chosen"] == recs[2]["track_id"]
    assert lines[0]["shown"] == [r["track_id"] for r in recs] and lines[0]["session"] == "fb"


def test_set_plan_picks_the_goal_by_position(rec):
    s = SessionRecommender(session="plan", recommender=rec, plan="warm-up 30 min -> peak -> release")
    assert [p.goal for p in s.plan.phases] == ["up", "peak", "down"]
    assert s.goal_now() == "up"
    s.next(current="t00000")
    assert s.last_goal == "up"
    ids = [f"t{i:05d}" for i in range(1, 30)]
    minutes = s.position_minutes()
    for t in ids:
        if minutes >= 30.0:
            break
        s.add_played(t)
        minutes = s.position_minutes()
    assert s.goal_now() == "peak"  # past 30 min; peak lasts default_phase_minutes (30)
    while s.position_minutes() < 60.0:
        s.add_played(ids.pop())
    assert s.goal_now() == "down"
    s.next(goal="maintain")
    assert s.last_goal == "maintain"  # a goal given per call wins over the plan
    # the plan is persisted with the session
    assert SessionRecommender(session="plan", recommender=rec).plan.phases == s.plan.phases


def test_plan_parsing_and_errors():
    named = parse_set_plan("warmup_peak_release", CFG)
    assert [(p.goal, p.minutes) for p in named.phases] == [("up", 30), ("peak", 45), ("down", None)]
    text = parse_set_plan("build 20 -> Peak 15 minutes -> cooldown", CFG)
    assert [(p.goal, p.minutes) for p in text.phases] == [("up", 20.0), ("peak", 15.0), ("down", None)]
    assert text.goal_at(0) == "up" and text.goal_at(34.9) == "peak" and text.goal_at(500) == "down"
    with pytest.raises(RecommendError, match="unknown set plan phase"):
        parse_set_plan("warm-up 30 -> rave", CFG)
    with pytest.raises(RecommendError, match="cannot read"):
        parse_set_plan("30 -> peak", CFG)


def test_export_m3u8(rec, tmp_path):
    s = SessionRecommender(session="m3u", recommender=rec)
    s.add_played("t00007")
    s.add_played("t00008")
    out = s.export_m3u8(tmp_path / "out" / "set.m3u8")
    lines = out.read_text(encoding="utf-8").splitlines()
    dur = round(rec.engine.table.loc["t00007", "duration_s"])
    assert lines[:4] == ["#EXTM3U", "#PLAYLIST:m3u", f"#EXTINF:{dur},Artist t00007 - Title t00007", "/music/t00007.mp3"]
    assert lines[5] == "/music/t00008.mp3" and len(lines) == 6


def test_session_errors(rec):
    with pytest.raises(RecommendError, match="invalid session name"):
        SessionRecommender(session="../etc", recommender=rec)
    s = SessionRecommender(session="empty", recommender=rec)
    with pytest.raises(RecommendError, match="nothing is playing"):
        s.next()
    with pytest.raises(UnknownTrackError):
        s.add_played("no-such-track")
    with pytest.raises(UnknownTrackError):
        rec.recommend("/no/such/file.mp3")
    assert s.played == []


def test_reset_keeps_plan(rec):
    s = SessionRecommender(session="reset", recommender=rec, plan="steady")
    s.add_played("t00001")
    s.reset()
    again = SessionRecommender(session="reset", recommender=rec)
    assert again.played == [] and again.plan is not None


def test_an_automatic_session_writes_no_feedback_and_trains_nothing(rec, tmp_path):
    from dj_pipeline.recommend.session import SessionStore
    from dj_pipeline.recommend.training import feedback_grew

    s = SessionRecommender(session="demo", recommender=rec, log_feedback=False)  # what `dj demo` uses
    recs = s.next(current="t00003", top_k=5)
    s.add_played(recs[0]["track_id"])
    s.played_time(200.0)
    s.skip(recs[1]["track_id"])
    assert not (tmp_path / "sessions" / "feedback.jsonl").exists()
    store = SessionStore(tmp_path / "sessions")
    assert store.played_sequences() == []  # its played list is no DJ's choice either
    assert not feedback_grew(tmp_path, CFG)


def test_skips_and_short_plays_are_negatives_and_feedback_growth_is_seen(rec, tmp_path):
    from dj_pipeline.recommend.session import SessionStore, training_pairs
    from dj_pipeline.recommend.training import feedback_grew, train_transition_ranker

    s = SessionRecommender(session="gig", recommender=rec)
    recs = s.next(current="t00003", top_k=5)
    s.skip(recs[1]["track_id"])
    s.add_played(recs[0]["track_id"])
    s.played_time(12.0)  # dropped after 12 s: not a move the DJ liked
    store = SessionStore(tmp_path / "sessions")
    pairs = set(training_pairs(store.played_sequences(), store.read_feedback(), store.read_events(), CFG.ranker.min_played_s))
    assert ("t00003", recs[1]["track_id"], 0) in pairs and ("t00003", recs[0]["track_id"], 0) in pairs
    assert ("t00003", recs[0]["track_id"], 1) not in pairs
    assert feedback_grew(tmp_path, CFG)
    status = train_transition_ranker(tmp_path, CFG, engine=rec.engine)
    assert not status.trained and not feedback_grew(tmp_path, CFG)  # seen: no retrain until it grows
    s.played_time(240.0)  # it did play through after all: feedback grew
    assert feedback_grew(tmp_path, CFG)
