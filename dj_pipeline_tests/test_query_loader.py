"""Recommender over a real ingested data directory (generated demo audio, dsp embeddings)."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dj_pipeline.cli import main as dj_main
from dj_pipeline.query import Recommender, SessionRecommender, recommend_text
from dj_pipeline.recommend import EmptyLibraryError, RecommendError, UnknownTrackError, fit_similarity_model, train_transition_ranker
from dj_pipeline.storage import read_asset


@pytest.fixture(scope="module")
def rec(ingested):
    return Recommender(data_dir=ingested)


@pytest.fixture(scope="module")
def tracks(ingested):
    return read_asset(ingested, "tracks").sort_values("track_id").reset_index(drop=True)


def test_recommends_from_the_materialized_assets(rec, tracks):
    current = tracks.loc[0, "track_id"]
    res = rec.recommend(current, goal="up", top_k=3)
    assert 1 <= len(res) <= 3 and current not in {r["track_id"] for r in res}
    lib_ids = set(tracks["track_id"])
    for r in res:
        assert r["track_id"] in lib_ids and r["path"] in set(tracks["path"])
        assert all(np.isfinite(v) for v in r["components"].values())
        assert -1.0 <= r["components"]["similarity"] <= 1.0
    by_path = rec.recommend(tracks.loc[0, "path"], goal="up", top_k=3)
    assert [r["track_id"] for r in by_path] == [r["track_id"] for r in res]


def test_history_excludes_tracks(rec, tracks):
    ids = tracks["track_id"].tolist()
    res = rec.recommend(ids[0], top_k=10, history=ids[1:3])
    assert not {r["track_id"] for r in res} & set(ids[:3])
    assert len(res) == len(ids) - 3  # a tiny library: relaxation fills the list with the rest


def test_a_copy_of_a_library_file_is_recognised(rec, tracks, tmp_path):
    src = tracks.loc[1, "path"]
    copy = tmp_path / ("copy" + Path(src).suffix)
    shutil.copyfile(src, copy)
    assert rec.track_id(copy) == tracks.loc[1, "track_id"]


def test_outside_file_is_analysed_and_embedded_on_the_fly(rec, tmp_path):
    sr = 22050
    t = np.arange(int(40 * sr)) / sr
    beat = (np.sin(2 * np.pi * 55 * t) * np.exp(-((t * 2.0) % 1.0) * 12)).astype(np.float32)  # 120 BPM kick-ish
    pad = 0.1 * np.sin(2 * np.pi * 220 * t) + 0.08 * np.sin(2 * np.pi * 261.63 * t)
    path = tmp_path / "outside.wav"
    sf.write(path, (0.6 * beat + pad).astype(np.float32), sr)
    own = Recommender(data_dir=tmp_path, engine=rec.engine)  # sessions under tmp_path
    assert own.track_id(path) is None
    cur = own.resolve(path)
    assert cur.track_id is None and cur.outro_vector is not None
    assert cur.outro_vector.shape == (np.asarray(rec.engine.intro_index.vectors).shape[1],)
    assert cur.features["bpm"] == pytest.approx(120.0, abs=2.0)
    res = own.recommend(str(path), top_k=3)
    assert len(res) == 3 and all(np.isfinite(r["score"]) for r in res)
    assert own.resolve(path) is cur  # analysed once, then cached
    session = SessionRecommender(session="outside", recommender=own)
    assert len(session.next(current=str(path), top_k=2)) == 2
    assert session.played[0]["track_id"] is None and session.played[0]["duration_s"] == pytest.approx(40.0, abs=0.1)


def test_a_re_encoded_library_track_from_outside_keeps_its_place_in_the_style_graph(rec, tracks, tmp_path):
    # the same music in another file (new content id): analysed and embedded on the fly, its
    # style vector extended from its library neighbours lands nearest the library copy's
    from dj_pipeline.audio.io import load_audio

    lib_id, src = tracks.loc[2, "track_id"], tracks.loc[2, "path"]
    y, sr = load_audio(src)
    outside = tmp_path / "re_encoded.wav"
    sf.write(outside, np.asarray(y, dtype=np.float32).T if np.ndim(y) > 1 else y, sr, subtype="FLOAT")
    own = Recommender(data_dir=tmp_path, engine=rec.engine)
    assert own.track_id(outside) is None
    style = rec.engine._style_vector(own.resolve(outside))
    sims = rec.engine.style.vectors @ style
    assert rec.engine.style.ids[int(np.argmax(sims))] == lib_id
    assert float(sims.max()) > 0.95


def test_unreadable_outside_file_is_a_clear_error(rec, tmp_path):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"not audio at all" * 100)
    with pytest.raises(RecommendError, match="cannot analyse"):
        rec.recommend(str(bad))


def test_errors_for_unknown_track_and_empty_library(rec, tmp_path):
    with pytest.raises(UnknownTrackError):
        rec.recommend("0123456789abcdef0000")
    with pytest.raises(EmptyLibraryError, match="dj ingest"):
        Recommender(data_dir=tmp_path / "empty")


def test_cli_text_json_and_exit_codes(ingested, tracks, capsys):
    out = recommend_text(tracks.loc[0, "track_id"], goal="down", top_k=2, as_json=True, data_dir=ingested)
    parsed = json.loads(out)
    assert len(parsed) == 2 and {"components", "relaxed", "camelot"} <= set(parsed[0])
    table = recommend_text(tracks.loc[0, "track_id"], top_k=2, data_dir=ingested)
    lines = table.splitlines()  # the current track's mix-out point, the header, two picks
    assert lines[0].startswith("mix out of the current track at ") and lines[1].startswith("#") and len(lines) == 4
    assert dj_main(["recommend", "--current", "no-such-track", "--data", str(ingested)]) == 2
    assert "unknown track" in capsys.readouterr().err


def test_session_over_real_assets(rec, tracks, tmp_path):
    ids = tracks["track_id"].tolist()
    own = Recommender(data_dir=tmp_path, engine=rec.engine)  # sessions under tmp_path, not the shared data dir
    s = SessionRecommender(session="loader_test", recommender=own)
    recs = s.next(current=ids[0], top_k=2)
    s.add_played(recs[0]["track_id"])
    again = SessionRecommender(session="loader_test", recommender=own)
    assert [p["track_id"] for p in again.played] == [ids[0], recs[0]["track_id"]]
    text = again.export_m3u8(tmp_path / "set.m3u8").read_text(encoding="utf-8")
    assert text.count("#EXTINF:") == 2 and tracks.loc[0, "path"] in text


def test_models_from_the_data_dir(ingested):
    info = fit_similarity_model(ingested)
    assert info["fitted"] and info["n_tracks"] == len(read_asset(ingested, "track_features"))
    status = train_transition_ranker(ingested)
    assert not status.trained and "no session history" in status.reason
