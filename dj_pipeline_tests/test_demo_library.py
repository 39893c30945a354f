"""The demo library on disk: truth consistency, formats, tags, determinism, one-shots, guards."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from dj_pipeline.audio import load_audio
from dj_pipeline.demo import STYLES, TRUTH_COLUMNS, generate_library, generate_oneshots, plan_library
from dj_pipeline.demo.track import default_config
from dj_pipeline.music.keys import camelot_code, key_name

ARGS = {"n_tracks": 8, "n_samples": 16, "seed": 3, "duration_scale": 0.15}


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_lib")
    generate_library(out, **ARGS)
    return out


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_truth_columns_and_key_codes(lib: Path) -> None:
    truth = pd.read_csv(lib / "truth.csv")
    assert list(truth.columns) == list(TRUTH_COLUMNS)
    assert len(truth) == ARGS["n_tracks"] and truth["track_index"].tolist() == list(range(ARGS["n_tracks"]))
    assert set(truth["style"]) == set(STYLES)
    for r in truth.itertuples():
        assert r.key == key_name(r.key_root, r.key_mode)
        assert r.camelot == camelot_code(r.key_root, r.key_mode)
        lo, hi = default_config().styles[r.style].bpm
        assert lo <= r.bpm <= hi and float(r.bpm).is_integer()
        assert 0.0 <= r.energy_level <= 1.0
        assert r.duration_s >= default_config().library.min_duration_s
        assert r.path == f"tracks/{r.style}/{r.track_index:03d}_{Path(r.path).name[4:]}"
    assert truth.notna().all().all()


def test_files_match_truth(lib: Path) -> None:
    truth = pd.read_csv(lib / "truth.csv")
    assert {"wav", "flac", "mp3"} <= set(truth["format"]) and {1, 2} <= set(truth["channels"])
    assert len(set(truth["sample_rate"])) >= 3
    for r in truth.itertuples():
        info = sf.info(lib / r.path)
        assert info.samplerate == r.sample_rate and info.channels == r.channels
        assert info.frames == round(r.duration_s * r.sample_rate), r.path  # MP3 padding is trimmed
        y, sr = load_audio(lib / r.path)
        assert sr == r.sample_rate and np.isfinite(y).all()
        assert 0.05 < np.max(np.abs(y)) <= 1.0
        assert np.sqrt(np.mean(y**2)) > 1e-3


def test_tags_read_back_with_tinytag(lib: Path) -> None:
    from tinytag import TinyTag

    truth = pd.read_csv(lib / "truth.csv")
    for r in truth.itertuples():
        tag = TinyTag.get(str(lib / r.path))
        assert (tag.title, tag.artist, tag.genre, tag.album) == (r.title, r.artist, r.genre, r.album), r.path


def test_rerun_is_byte_identical_and_seed_matters(lib: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_library(again, **ARGS)
    assert _digest(again) == _digest(lib)
    other = generate_library(tmp_path / "other", **{**ARGS, "seed": 4, "n_tracks": 2, "n_samples": 0})
    first = pd.read_csv(lib / "truth.csv").head(2)
    assert not other[["bpm", "key_root", "title"]].equals(first[["bpm", "key_root", "title"]])


def test_samples_truth_and_roles(lib: Path) -> None:
    samples = pd.read_csv(lib / "samples_truth.csv", keep_default_na=False)
    assert len(samples) == ARGS["n_samples"]
    roles = {"kick": "CORE", "snare": "ACCENT", "clap": "ACCENT", "hihat": "MOTION", "cymbal": "MOTION", "tom": "FILL", "fx": "TEXTURE", "percussion": ""}
    assert set(samples["drum_class"]) == set(roles)
    for r in samples.itertuples():
        assert r.role == roles[r.drum_class]
        assert Path(r.path).name.startswith(f"{r.drum_class}_")
        info = sf.info(lib / r.path)
        assert info.samplerate == r.sample_rate and info.channels == r.channels
        assert abs(info.duration - r.duration_s) < 1e-3
    assert len(set(samples["sample_rate"])) == 4


def test_oneshot_classes_sound_different(tmp_path: Path) -> None:
    shots = generate_oneshots(tmp_path, 12, seed=5)

    def centroid(name: str) -> float:
        row = shots[shots["variant"] == name].iloc[0]
        y, sr = load_audio(tmp_path / row["path"])
        spec = np.abs(np.fft.rfft(y))
        return float(np.sum(np.fft.rfftfreq(len(y), 1 / sr) * spec) / np.sum(spec))

    assert centroid("kick") < 1000 < centroid("snare") < centroid("hihat_closed")
    durations = shots.set_index("variant")["duration_s"]
    assert durations["hihat_closed"] < 0.1 < durations["hihat_open"] < durations["crash"]


def test_zero_counts_and_guards(tmp_path: Path) -> None:
    empty = generate_oneshots(tmp_path / "none", 0, seed=1)
    assert empty.empty and "role" in empty.columns
    with pytest.raises(ValueError):
        generate_oneshots(tmp_path, -1, seed=1)
    with pytest.raises(ValueError):
        plan_library(-1)
    with pytest.raises(ValueError):
        plan_library(4, duration_scale=0.0)
    assert plan_library(0) == []


def test_plan_spreads_keys_and_styles() -> None:
    plans = plan_library(24, seed=0)
    assert sorted(p.key_root for p in plans[:12]) == list(range(12))
    assert {p.style for p in plans} == set(STYLES)
    assert all(p.key_mode == "minor" for p in plans if p.style == "techno")
    scaled = plan_library(24, seed=0, duration_scale=0.01)
    assert min(p.duration_s for p in scaled) == pytest.approx(default_config().library.min_duration_s, abs=1e-3)
