"""End to end (slow): an ingest flags a re-encoded excerpt of a library track as ``duplicate_of``,
``dj recommend`` on that file says "this is ..." and never returns the original, and an ingest with
no file change retrains the ranker when feedback grew."""

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")]


def test_copies_are_flagged_recognised_and_feedback_retrains(small_library: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dj_pipeline.cli import main
    from dj_pipeline.pipeline import run_ingest
    from dj_pipeline.query import Recommender, SessionRecommender
    from dj_pipeline.storage import DataPaths, read_asset

    lib = tmp_path / "lib"
    shutil.copytree(small_library / "tracks", lib)
    original = sorted(p for p in lib.rglob("*") if p.suffix in (".wav", ".flac", ".mp3"))[0]
    excerpt = lib / "copies" / "excerpt.mp3"
    excerpt.parent.mkdir()
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-ss", "10", "-t", "45", "-i", str(original), "-b:a", "128k", str(excerpt)], check=True)
    data = tmp_path / "data"
    run_ingest(lib, data, embedding_backend="dsp", show_progress=False, echo=lambda s: None)

    tracks = read_asset(DataPaths(data), "tracks").set_index("path")
    original_id = tracks.at[str(original.resolve()), "track_id"]
    assert tracks.at[str(excerpt.resolve()), "duplicate_of"] == original_id
    assert tracks["duplicate_of"].notna().sum() == 1

    outside = tmp_path / "outside.ogg"  # another format, outside the library
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(original), "-c:a", "libvorbis", "-q:a", "4", str(outside)], check=True)
    assert main(["recommend", "--current", str(outside), "--data", str(data), "--top-k", "3"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("this is ")
    rec = Recommender(data)
    ids = [r["track_id"] for r in rec.recommend(str(outside), top_k=10)]
    assert original_id not in ids and tracks.at[str(excerpt.resolve()), "track_id"] not in ids

    messages: list[str] = []
    run_ingest(lib, data, embedding_backend="dsp", show_progress=False, echo=messages.append)
    assert not any("retraining" in m for m in messages)  # nothing new
    session = SessionRecommender(data, session="gig")
    recs = session.next(current=original_id, top_k=3)
    session.add_played(recs[0]["track_id"])
    run_ingest(lib, data, embedding_backend="dsp", show_progress=False, echo=messages.append)
    assert any("retraining" in m for m in messages)  # feedback grew, no file changed
