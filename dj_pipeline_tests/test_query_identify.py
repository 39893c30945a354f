"""Same song, different file: an excerpt given as the current track is recognised ("this is ..."),
never its own next track; library copies (duplicate_of) are never recommended; ``similar``."""

import numpy as np
import soundfile as sf

from dj_pipeline.config.fingerprint import load_fingerprint_config
from dj_pipeline.fingerprint import FingerprintIndex, fingerprint_file
from dj_pipeline.query import Recommender, identified_note
from dj_pipeline.recommend.synthetic import library_from_rows
from dj_pipeline_tests.test_fingerprint import SR, _song

CFG = load_fingerprint_config()


def _library(n=6, copies=None):
    rows = [{"track_id": f"song{i}", "energy": 0.3 + 0.1 * i, "loudness_lufs": -14.0 + i} for i in range(n)]
    lib = library_from_rows(rows, same_vectors=True)
    if copies:
        lib.tracks["duplicate_of"] = [copies.get(t) for t in lib.tracks["track_id"]]
    return lib


def test_an_excerpt_as_current_is_recognised_and_never_its_own_next_track(tmp_path):
    y = _song(2)
    full, excerpt = tmp_path / "song2.wav", tmp_path / "excerpt.wav"
    sf.write(full, y, SR)
    sf.write(excerpt, y[int(12.5 * SR) : int(42.5 * SR)], SR)
    other = tmp_path / "song0.wav"
    sf.write(other, _song(0), SR)
    fps = [fingerprint_file(p, CFG) for p in (other, full)]
    index = FingerprintIndex(["song0", "song2"], [h for h, _ in fps], [t for _, t in fps], CFG)
    lib = _library()
    rec = Recommender(data_dir=tmp_path / "data", engine=lib.engine(), fingerprints=index)
    res = rec.recommend(str(excerpt), top_k=5)
    assert res and "song2" not in [r["track_id"] for r in res]
    assert identified_note(rec, str(excerpt)).startswith("this is Artist song2 - Title song2")
    # a file that is no library recording is not "identified"
    assert rec.identify(tmp_path / "song0.wav") == "song0" and rec.identify(_write(tmp_path, _song(5))) is None


def _write(tmp_path, y):
    p = tmp_path / "stranger.wav"
    sf.write(p, y, SR)
    return p


def test_library_copies_are_never_recommended_nor_similar():
    lib = _library(copies={"song3": "song1", "song4": "song1"})
    engine = lib.engine()
    ids = [r["track_id"] for r in engine.recommend("song0", top_k=10)]
    assert "song3" not in ids and "song4" not in ids and "song1" in ids
    # after the original, neither it nor its copies come back
    ids = [r["track_id"] for r in engine.recommend("song1", top_k=10)]
    assert not {"song1", "song3", "song4"} & set(ids)
    rec = Recommender(engine=engine)
    sim = rec.similar("song1", top_k=10)
    assert not {"song1", "song3", "song4"} & {r["track_id"] for r in sim}
    assert [r["match"] for r in sim] == sorted((r["match"] for r in sim), reverse=True)
    assert all(np.isfinite(r["score"]) and 1 <= len(r["reasons"]) <= 3 for r in sim)
