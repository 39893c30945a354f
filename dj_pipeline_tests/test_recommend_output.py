"""Readable table, JSON and M3U8 text of recommendations."""

import json

import pytest

from dj_pipeline.recommend import format_table, m3u8_text, results_to_json

RESULTS = [
    {
        "track_id": "a1",
        "path": "/m/One.mp3",
        "artist": "Ann",
        "title": "One",
        "score": 2.5,
        "bpm": 124.0,
        "key": "A minor",
        "camelot": "8A",
        "energy": 0.61,
        "loudness_lufs": -8.25,
        "duration_s": 361.4,
        "components": {"similarity": 0.9, "energy_goal": 0.8, "key": 1.0},
        "relaxed": [],
    },
    {
        "track_id": "b2",
        "path": "/m/Two Ünïcode.flac",
        "artist": None,
        "title": None,
        "score": 1.25,
        "bpm": None,
        "key": None,
        "camelot": None,
        "energy": None,
        "duration_s": None,
        "components": {"similarity": 0.1, "energy_goal": 0.2, "key": 0.5},
        "relaxed": ["key", "bpm"],
    },
]


def test_table_lists_every_result_with_its_relaxations():
    lines = format_table(RESULTS).splitlines()
    assert lines[0].split()[:6] == ["#", "score", "bpm", "camelot", "energy", "lufs"]
    assert "similari" in lines[0] and "learned" not in lines[0]
    assert lines[1].split()[:6] == ["1", "2.500", "124.0", "8A", "0.61", "-8.2"] and lines[1].endswith("Ann - One")
    assert lines[2].split()[2:6] == ["-", "-", "-", "-"]  # unknown BPM, key, energy, loudness
    assert "key,bpm" in lines[2] and lines[2].endswith("Two Ünïcode.flac")
    assert format_table([]) == "(no recommendations)"


def test_json_round_trip_and_nan_refused():
    assert json.loads(results_to_json(RESULTS)) == RESULTS
    with pytest.raises(ValueError):
        results_to_json([{**RESULTS[0], "score": float("nan")}])


def test_m3u8_text():
    text = m3u8_text(RESULTS + [{"track_id": "nopath"}], playlist_name="gig")
    assert text.splitlines() == [
        "#EXTM3U",
        "#PLAYLIST:gig",
        "#EXTINF:361,Ann - One",
        "/m/One.mp3",
        "#EXTINF:-1,Two Ünïcode.flac",
        "/m/Two Ünïcode.flac",
    ]


def test_demo_set_printout_shows_loudness_and_the_largest_lifts_as_reasons():
    from dj_pipeline.demo_run import format_set

    start = {"track_id": "a1", "artist": "Ann", "title": "One", "bpm": 124.0, "camelot": "8A", "key": "A minor", "energy": 0.61, "loudness_lufs": -9.04, "goal": "start"}
    pick = {**RESULTS[0], "goal": "up", "loudness_lufs": -7.5, "lift": {"style": 0.4, "energy_goal": 2.5, "key": 1.0, "tempo": -3.0}, "relaxed": ["key"]}
    lines = format_set([start, pick]).splitlines()
    assert lines[0].split()[:7] == ["#", "goal", "bpm", "cam", "key", "energy", "lufs"]
    assert lines[1].split()[:8] == ["1", "start", "124.0", "8A", "A", "minor", "0.61", "-9.0"]
    assert "-7.5" in lines[2].split()
    # the two largest positive lifts, largest first; a negative one is never a reason
    assert lines[2].endswith("Ann - One  (energy_goal +2.50, key +1.00) [relaxed: key]")
