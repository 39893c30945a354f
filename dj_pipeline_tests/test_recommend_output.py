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
    ranked = [{**RESULTS[0], "match": 87.4, "energy_level": 7, "reasons": ["energy +1", "same key 8A", "intro mixes well"]}, {**RESULTS[1], "match": 52.0}]
    lines = format_table(ranked, note="this is Ann - One").splitlines()
    assert lines[0] == "this is Ann - One"
    # full header words, never cut to 8 characters; no component noise such as "diversity -0.00"
    assert lines[1].split() == ["#", "match", "bpm", "key", "camelot", "energy", "why", "track", "note"]
    assert lines[2].split()[:7] == ["1", "87", "124.0", "A", "minor", "8A", "7/10"]
    assert "energy +1, same key 8A, intro mixes well" in lines[2] and "Ann - One" in lines[2]
    assert "diversity" not in "\n".join(lines)
    assert lines[3].split()[:6] == ["2", "52", "-", "-", "-", "-"]  # unknown BPM, key, camelot, energy
    assert lines[3].endswith("key clash, tempo off") and "Two Ünïcode.flac" in lines[3]
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


def test_demo_set_printout_shows_levels_match_and_reasons_in_words():
    from dj_pipeline.demo_run import format_set

    start = {"track_id": "a1", "artist": "Ann", "title": "One", "bpm": 124.0, "camelot": "8A", "key": "A minor", "energy_level": 5, "goal": "start"}
    pick = {**RESULTS[0], "goal": "up", "energy_level": 6, "match": 81.2, "reasons": ["energy +1", "same key 8A"], "relaxed": ["key"]}
    lines = format_set([start, pick]).splitlines()
    assert lines[0].split() == ["#", "goal", "bpm", "key", "camelot", "energy", "match", "track", "why"]
    assert lines[1].split()[:7] == ["1", "start", "124.0", "A", "minor", "8A", "5/10"]
    assert lines[2].split()[:8] == ["2", "up", "124.0", "A", "minor", "8A", "6/10", "81"]
    assert lines[2].endswith("Ann - One  energy +1, same key 8A [key clash]")


def test_table_says_where_to_mix_when_cues_are_known():
    cued = {"mix_in_s": 15.2, "mix_in_bar": 9.0, "mix_in_bars": 16.0, "current_mix_out_s": 312.4, "current_mix_out_bar": 161.0, "current_mix_out_bars": 32.0}
    ranked = [{**RESULTS[0], **cued, "match": 87.4, "energy_level": 7}, {**RESULTS[1], "match": 52.0, "mix_in_s": None}]
    lines = format_table(ranked).splitlines()
    assert lines[0] == "mix out of the current track at 5:12 (bar 161, 32 bars)"
    assert lines[1].split()[:8] == ["#", "match", "bpm", "key", "camelot", "energy", "mix", "in"]
    assert "0:15 16 bars" in lines[2] and lines[3].split()[6] == "-"
    plain = format_table([{**RESULTS[0], "match": 80.0}]).splitlines()  # a library without cues: no column, no line
    assert "mix" not in plain[0] and len(plain) == 2


def test_demo_set_printout_shows_the_transition_points():
    from dj_pipeline.demo_run import format_set

    start = {"track_id": "a1", "artist": "Ann", "title": "One", "bpm": 124.0, "goal": "start"}
    pick = {**RESULTS[0], "goal": "up", "match": 81.0, "current_mix_out_s": 312.4, "mix_in_s": 15.0}
    lines = format_set([start, pick]).splitlines()
    assert lines[0].split() == ["#", "goal", "bpm", "key", "camelot", "energy", "match", "mix", "track", "why"]
    assert "5:12 > 0:15" in lines[2] and ">" not in lines[1]
