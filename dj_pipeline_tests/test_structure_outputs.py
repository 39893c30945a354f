"""Structure outputs: the track_structure asset's tables and views, `dj cues`, `dj analyze`, Rekordbox cues."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from dj_pipeline.cli import main
from dj_pipeline.config.structure import RekordboxCuesConfig, load_structure_config
from dj_pipeline.export.rekordbox import location_uri, position_marks
from dj_pipeline.storage import read_asset
from dj_pipeline.structure import CUE_TYPES

RB = load_structure_config().rekordbox


def _cues(**times: float | None) -> pd.DataFrame:
    return pd.DataFrame(
        [{"track_id": "t", "type": k, "time_s": v, "bar": 1, "confidence": 0.9, "length_bars": 16 if k.startswith("mix") else None, "reason": None} for k, v in times.items()]
    )


def test_position_marks_memory_and_hot_cues_with_colours() -> None:
    marks = position_marks(_cues(mix_in=0.5, drop=60.25, mix_out=180.0, end=200.0), RB)
    memory = [m for m in marks if m["Num"] == "-1"]
    hot = {m["Num"]: m for m in marks if m["Num"] != "-1"}
    assert [m["Start"] for m in memory] == ["0.500", "60.250", "180.000", "200.000"]
    assert hot["0"]["Start"] == "0.500" and hot["1"]["Start"] == "60.250" and hot["3"]["Start"] == "180.000"
    assert "2" not in hot, "no breakdown cue: hot cue C stays empty"
    assert all(m["Type"] == "0" and {"Red", "Green", "Blue"} <= set(m) for m in marks)
    assert hot["0"]["Name"] == "mix in 16 bars" and (hot["0"]["Red"], hot["0"]["Green"], hot["0"]["Blue"]) == ("40", "226", "20")


def test_hot_cue_assignment_is_configurable() -> None:
    cfg = RekordboxCuesConfig(hot_cues=("drop",), memory_cues=(), colours={})
    marks = position_marks(_cues(mix_in=0.5, drop=60.0), cfg)
    assert marks == [{"Name": "drop", "Type": "0", "Start": "60.000", "Num": "0"}]


def test_structure_tables_views_and_cue_sheet(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tracks = read_asset(ingested, "tracks")
    cues = read_asset(ingested, "track_cues")
    sections = read_asset(ingested, "track_sections")
    structure = read_asset(ingested, "track_structure")
    assert set(structure["track_id"]) == set(tracks["track_id"])
    assert cues.groupby("track_id")["type"].apply(list).to_dict() == {t: list(CUE_TYPES) for t in tracks["track_id"]}
    placed = cues.dropna(subset=["time_s"])
    assert len(placed) >= len(tracks) * 3, "the generated tracks have a beat: most cues are placed"
    assert cues.loc[cues["time_s"].isna(), "reason"].notna().all(), "a NULL cue carries its reason"
    assert set(sections["label"]) <= {"intro", "build", "drop", "breakdown", "outro"}
    assert main(["sql", "SELECT type, count(*) AS n FROM track_cues GROUP BY 1", "--json", "--data", str(ingested)]) == 0
    assert {r["type"] for r in json.loads(capsys.readouterr().out)} == set(CUE_TYPES)
    tid = sorted(tracks["track_id"])[0]
    assert main(["cues", tid, "--data", str(ingested)]) == 0
    out = capsys.readouterr().out
    assert "mix_in" in out and "mix_out" in out and "bar" in out
    path = tracks.set_index("track_id").loc[tid, "path"]
    assert main(["cues", path, "--json", "--data", str(ingested)]) == 0
    sheet = json.loads(capsys.readouterr().out)
    assert [r["type"] for r in sheet] == list(CUE_TYPES)


def test_cues_of_an_unknown_track_is_one_line(ingested: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cues", "no_such_track", "--data", str(ingested)]) == 2
    err = capsys.readouterr().err
    assert "not a library track" in err and len(err.strip().splitlines()) == 1


def test_rekordbox_export_has_cues_and_grid_and_is_byte_identical(ingested: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.xml", tmp_path / "b.xml"
    assert main(["export", "rekordbox", "--out", str(a), "--data", str(ingested)]) == 0
    assert main(["export", "rekordbox", "--out", str(b), "--data", str(ingested)]) == 0
    assert a.read_bytes() == b.read_bytes(), "re-exporting the same library must give the same bytes"
    tree = ET.parse(a)
    again = tmp_path / "again.xml"
    tree.write(again, encoding="UTF-8", xml_declaration=True)
    assert again.read_bytes() == a.read_bytes(), "parse + write must round-trip byte for byte"
    tracks = read_asset(ingested, "tracks").set_index("track_id")
    cues = read_asset(ingested, "track_cues").dropna(subset=["time_s"])
    grid = read_asset(ingested, "track_structure").set_index("track_id")
    by_location = {e.get("Location"): e for e in tree.getroot().find("COLLECTION").findall("TRACK")}
    for tid, group in cues.groupby("track_id"):
        el = by_location[location_uri(tracks.loc[tid, "path"])]
        marks = el.findall("POSITION_MARK")
        memory = [m for m in marks if m.get("Num") == "-1"]
        assert len(memory) == len(group), "a memory cue for every placed cue"
        hot = sorted(int(m.get("Num")) for m in marks if m.get("Num") != "-1")
        assert hot == sorted(RB.hot_cues.index(t) for t in group["type"] if t in RB.hot_cues)
        tempo = el.find("TEMPO")
        assert float(tempo.get("Inizio")) == pytest.approx(grid.loc[tid, "first_downbeat_s"], abs=0.001)
        assert float(tempo.get("Bpm")) == pytest.approx(grid.loc[tid, "bpm"], abs=0.005)


def test_pyrekordbox_reads_the_cues(ingested: Path, tmp_path: Path) -> None:
    rbxml = pytest.importorskip("pyrekordbox.rbxml")
    out = tmp_path / "rb.xml"
    assert main(["export", "rekordbox", "--out", str(out), "--data", str(ingested)]) == 0
    doc = rbxml.RekordboxXml(str(out))
    cues = read_asset(ingested, "track_cues").dropna(subset=["time_s"])
    n_marks = 0
    for track in doc.get_tracks():
        marks = track.marks
        n_marks += len(marks)
        for m in marks:
            assert m.Type == "cue" and m.Num >= -1 and m.Start >= 0.0
        if track.tempos:
            assert track.tempos[0].Bpm > 0 and track.tempos[0].Battito == 1
    expected = len(cues) + int(cues["type"].isin(RB.hot_cues).sum())
    assert n_marks == expected


def test_recommendations_say_where_to_mix(ingested: Path) -> None:
    """Each pick carries its mix_in cue and the current track's mix_out cue, as track_cues has them."""
    from dj_pipeline.query import Recommender

    cues = read_asset(ingested, "track_cues").set_index(["track_id", "type"])
    placed = cues.dropna(subset=["time_s"]).reset_index()
    current = str(placed.loc[placed["type"] == "mix_out", "track_id"].iloc[0])
    results = Recommender(ingested).recommend(current, goal="maintain", top_k=4)
    assert results and results[0]["current_mix_out_s"] == pytest.approx(float(cues.loc[(current, "mix_out"), "time_s"]))
    with_cue = [r for r in results if r["mix_in_s"] is not None]
    assert with_cue, "no pick has a mix_in cue"
    for r in with_cue:
        assert r["mix_in_s"] == pytest.approx(float(cues.loc[(r["track_id"], "mix_in"), "time_s"]))
        assert r["mix_in_bars"] == pytest.approx(float(cues.loc[(r["track_id"], "mix_in"), "length_bars"]))
