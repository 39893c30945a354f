"""assign_roles / assign_folder: roles of synthesised and real one-shots, bad input, output columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dj_pipeline.config.roles import load_roles_config
from dj_pipeline.roles import ROLE_COLUMNS, ROLES, assign_folder, assign_roles, sample_id
from dj_pipeline.roles.tuning import devset_oneshots, role_report
from dj_pipeline_tests.test_roles_signals import SR, drone, hat, kick, pad, snare, tom, write


@pytest.fixture(scope="module")
def cfg():
    return load_roles_config()


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("samples")
    for name, y in [("kick", kick()), ("snare", snare()), ("hat", hat()), ("tom", tom()), ("drone", drone()), ("pad", pad())]:
        write(d / f"{name}.wav", y)
    return d


def test_synthesised_drums_get_their_roles(sample_dir: Path, cfg) -> None:
    names = ["kick", "snare", "hat", "tom", "drone", "pad"]
    roles, errors = assign_roles([(n, str(sample_dir / f"{n}.wav")) for n in names], cfg)
    assert errors.empty
    got = dict(zip(roles["sample_id"], roles["role"]))
    assert got == {"kick": "CORE", "snare": "ACCENT", "hat": "MOTION", "tom": "FILL", "drone": "TEXTURE", "pad": "TEXTURE"}
    assert list(roles.columns) == ROLE_COLUMNS


def test_output_probabilities_and_no_nan(sample_dir: Path, cfg) -> None:
    roles, _ = assign_roles([("k", str(sample_dir / "kick.wav")), ("h", str(sample_dir / "hat.wav"))], cfg)
    for prefix in ("p_rule_", "p_final_"):
        cols = [f"{prefix}{r.lower()}" for r in ROLES]
        assert np.allclose(roles[cols].sum(axis=1), 1.0)
    clap_cols = [f"p_clap_{r.lower()}" for r in ROLES]
    assert roles[clap_cols].isna().all().all()  # no CLAP: NULL, recorded by fusion_alpha = 1.0
    assert (roles["fusion_alpha"] == 1.0).all()
    finals = roles[[f"p_final_{r.lower()}" for r in ROLES]].to_numpy()
    top2 = np.sort(finals, axis=1)[:, -2:]
    assert np.allclose(roles["confidence"], top2[:, 1] - top2[:, 0], atol=1e-5)  # confidence = top-2 margin
    numeric = roles.drop(columns=clap_cols).select_dtypes("number")
    assert not numeric.isna().any().any()


def test_bad_input_never_crashes(tmp_path: Path, cfg) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk" + bytes(range(256)) * 4)
    (tmp_path / "notaudio.wav").write_bytes(b"this is not audio at all" * 40)
    write(tmp_path / "silence.wav", np.zeros(2 * SR, np.float32))
    beat = np.zeros(SR // 2, np.float32)
    k = kick()[: SR // 4]
    beat[: k.size] = k
    write(tmp_path / "loop30.wav", np.tile(beat, 60))  # a 30 s drum loop dropped in the sample folder
    y96 = kick(96000)
    write(tmp_path / "stereo96.wav", np.stack([y96, 0.8 * y96]), 96000)
    names = ["empty", "corrupt", "notaudio", "silence", "loop30", "stereo96", "missing"]
    roles, errors = assign_roles([(n, str(tmp_path / f"{n}.wav")) for n in names], cfg)
    assert sorted(Path(p).stem for p in errors["path"]) == ["corrupt", "empty", "missing", "notaudio"]
    assert (errors["stage"] == "roles").all() and errors["error"].str.len().gt(5).all()
    assert "empty" in errors.set_index(errors["path"].map(lambda p: Path(p).stem)).loc["empty", "error"]
    by_id = roles.set_index("sample_id")
    assert by_id.loc["silence", "role"] == "TEXTURE" and by_id.loc["silence", "confidence"] == 0.0
    assert "silent" in by_id.loc["silence", "reason"] and not by_id.loc["silence", "eligible"]
    assert by_id.loc["loop30", "role"] == "TEXTURE" and "loop" in by_id.loc["loop30", "reason"]
    assert by_id.loc["loop30", "source_duration_s"] == pytest.approx(30.0, abs=0.01) and not by_id.loc["loop30", "eligible"]
    assert by_id.loc["stereo96", "role"] == "CORE" and by_id.loc["stereo96", "eligible"]
    assert bool(by_id.loc["silence", "low_confidence"])


def test_empty_input_has_typed_columns(cfg) -> None:
    roles, errors = assign_roles([], cfg)
    assert roles.empty and list(roles.columns) == ROLE_COLUMNS and list(errors.columns) == ["path", "stage", "error"]


def test_assign_folder_ids_duplicates_and_pools(sample_dir: Path, tmp_path: Path, cfg) -> None:
    folder = tmp_path / "s"
    (folder / "sub").mkdir(parents=True)
    for f in sample_dir.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "sub" / "kick_copy.wav").write_bytes((sample_dir / "kick.wav").read_bytes())  # same content
    (folder / "broken.wav").write_bytes(b"")
    (folder / "readme.txt").write_text("not audio")
    roles, pools, errors = assign_folder(folder, cfg)
    assert len(roles) == 6  # the duplicate kick is assigned once, the text file ignored
    assert roles["sample_id"].is_unique
    assert sample_id(folder / "kick.wav") == sample_id(folder / "sub" / "kick_copy.wav")
    assert list(Path(p).name for p in errors["path"]) == ["broken.wav"]
    assert set(pools["role"]) >= {"CORE", "ACCENT", "MOTION"}
    assert pools.groupby("role")["rank"].apply(lambda r: list(r) == list(range(1, len(r) + 1))).all()


def test_devset_accuracy_rules_alone(devset: Path, cfg) -> None:
    """Regression guard for the tuned rules on the real devset (bench/roles_accuracy.py reports the full figures)."""
    items = [(p, c, r) for p, c, r in devset_oneshots(devset) if r]
    roles, errors = assign_roles([(str(i), str(p)) for i, (p, _, _) in enumerate(items)], cfg)
    assert errors.empty and len(roles) == len(items) == 172
    per_role, conf, macro = role_report([r for _, _, r in items], list(roles["role"]))
    assert macro >= 0.85
    assert per_role.loc["CORE", "recall"] >= 0.9 and per_role.loc["MOTION", "recall"] >= 0.85
    assert int(np.trace(conf.to_numpy())) >= 0.85 * len(items)


def test_role_report_counts() -> None:
    per_role, conf, macro = role_report(["CORE", "CORE", "ACCENT", "MOTION"], ["CORE", "ACCENT", "ACCENT", "MOTION"])
    assert conf.loc["CORE", "ACCENT"] == 1 and conf.loc["CORE", "CORE"] == 1
    assert per_role.loc["CORE", "precision"] == 1.0 and per_role.loc["CORE", "recall"] == 0.5
    assert per_role.loc["ACCENT", "precision"] == 0.5 and per_role.loc["FILL", "support"] == 0
    assert macro == pytest.approx(np.mean([2 / 3, 2 / 3, 1.0]))  # roles absent from the truth are not averaged


def test_frames_are_parquet_ready(sample_dir: Path, cfg, tmp_path: Path) -> None:
    roles, _ = assign_roles([("k", str(sample_dir / "kick.wav"))], cfg)
    roles.to_parquet(tmp_path / "r.parquet")
    back = pd.read_parquet(tmp_path / "r.parquet")
    assert back["p_clap_core"].isna().all() and back.loc[0, "role"] == "CORE"
