"""Rekordbox XML export: valid document, locations, keys, beat grid, session playlists."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dj_pipeline.cli import EXIT_USER_ERROR, main
from dj_pipeline.export import location_uri, rekordbox_tonality
from dj_pipeline.query import SessionRecommender
from dj_pipeline.storage import read_asset


def test_location_is_single_slash_and_percent_encoded() -> None:
    assert location_uri("/music/Beyoncé – Ça va.flac") == "file://localhost/music/Beyonc%C3%A9%20%E2%80%93%20%C3%87a%20va.flac"


@pytest.mark.parametrize(("root", "mode", "text"), [(9, "minor", "Am"), (6, "major", "F#"), (None, None, "")])
def test_tonality(root: int | None, mode: str | None, text: str) -> None:
    assert rekordbox_tonality(root, mode) == text


def test_export_library_and_session_playlist(ingested: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ingested = Path(shutil.copytree(ingested, tmp_path / "data"))  # the session below must not leak into the shared fixture
    tracks = read_asset(ingested, "tracks")
    features = read_asset(ingested, "track_features").set_index("track_id")
    session = SessionRecommender(ingested, session="export_test")
    session.reset()
    first = sorted(tracks["track_id"])[0]
    nxt = session.next(current=first, top_k=2)[0]["track_id"]
    session.add_played(nxt)
    out = tmp_path / "rb.xml"
    assert main(["export", "rekordbox", "--out", str(out), "--playlist", "export_test", "--data", str(ingested)]) == 0
    root = ET.parse(out).getroot()
    assert root.tag == "DJ_PLAYLISTS"
    entries = root.find("COLLECTION").findall("TRACK")
    assert len(entries) == len(tracks)
    by_location = {e.get("Location"): e for e in entries}
    for t in tracks.itertuples():
        e = by_location[location_uri(t.path)]
        f = features.loc[t.track_id]
        assert float(e.get("AverageBpm")) == pytest.approx(f["bpm"], abs=0.01)
        assert e.get("Tonality") == rekordbox_tonality(f["key_root"], f["key_mode"])
        assert e.find("TEMPO") is not None
    playlist = root.find("PLAYLISTS").find("NODE").find("NODE")
    assert playlist.get("Name") == "export_test" and playlist.get("Entries") == "2"
    keys = [int(k.get("Key")) for k in playlist.findall("TRACK")]
    ids_by_number = {int(e.get("TrackID")): e.get("Location") for e in entries}
    path_by_id = dict(zip(tracks["track_id"], tracks["path"]))
    assert [ids_by_number[k] for k in keys] == [location_uri(path_by_id[first]), location_uri(path_by_id[nxt])]
    capsys.readouterr()
    assert main(["export", "rekordbox", "--out", str(out), "--playlist", "nope", "--data", str(ingested)]) == EXIT_USER_ERROR
